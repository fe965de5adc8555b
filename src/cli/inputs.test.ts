import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CliError } from './cli-error';
import { EXIT } from './exit-codes';
import { coerceInputs, parseInput, parseJsonObject, readUploads } from './inputs';

const usage = (fn: () => unknown) => {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(CliError);
    expect((error as CliError).exitCode).toBe(EXIT.USAGE);
    return (error as CliError).message;
  }
  throw new Error('expected a usage error');
};

describe('--input name=value', () => {
  test('splits at the first "=", keeping the rest of the value as it is', () => {
    expect(parseInput('region=North')).toEqual({ name: 'region', value: 'North', json: false });
    expect(parseInput('query=a=b')).toEqual({ name: 'query', value: 'a=b', json: false });
    expect(parseInput('empty=')).toEqual({ name: 'empty', value: '', json: false });
  });

  test('name:=<json> sends the JSON value', () => {
    expect(parseInput('n:=3')).toEqual({ name: 'n', value: 3, json: true });
    expect(parseInput('flag:=false')).toEqual({ name: 'flag', value: false, json: true });
    expect(parseInput('label:="007"')).toEqual({ name: 'label', value: '007', json: true });
  });

  test('anything else is a usage error that says how to write it', () => {
    expect(usage(() => parseInput('region'))).toContain('name=value');
    expect(usage(() => parseInput('=North'))).toContain('name=value');
    expect(usage(() => parseInput('my-region=North'))).toContain('letters, digits');
    expect(usage(() => parseInput('n:=[1,'))).toContain('not JSON');
  });
});

describe('inputs typed by the task parameters', () => {
  const parameters = {
    region: { type: 'string' as const },
    months: { type: 'integer' as const },
    share: { type: 'number' as const },
    plot: { type: 'boolean' as const },
  };

  test('text becomes the type its parameter declares', () => {
    const inputs = ['region=007', 'months=3', 'share=0.25', 'plot=yes'].map(parseInput);
    expect(coerceInputs(inputs, parameters)).toEqual({ region: '007', months: 3, share: 0.25, plot: true });
    expect(coerceInputs([parseInput('plot=false')], parameters)).toEqual({ plot: false });
  });

  test('text that is not of its type, and unknown names, go as text for the gateway to refuse', () => {
    const inputs = ['months=three', 'share=', 'plot=maybe', 'other=1'].map(parseInput);
    expect(coerceInputs(inputs, parameters)).toEqual({ months: 'three', share: '', plot: 'maybe', other: '1' });
  });

  test('a JSON value is sent as given, whatever the parameter says', () => {
    expect(coerceInputs([parseInput('region:=5')], parameters)).toEqual({ region: 5 });
  });
});

describe('files and JSON flags', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'cli-inputs-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test('uploads are named by their base name and sent as base64', async () => {
    writeFileSync(path.join(dir, 'sales.csv'), 'a,b\n1,2\n');
    await expect(readUploads([path.join(dir, 'sales.csv')])).resolves.toEqual([
      { name: 'sales.csv', content: Buffer.from('a,b\n1,2\n').toString('base64') },
    ]);
  });

  test('a missing file, a folder, or two files of one name are usage errors', async () => {
    mkdirSync(path.join(dir, 'a'));
    writeFileSync(path.join(dir, 'x.csv'), '1');
    writeFileSync(path.join(dir, 'a', 'x.csv'), '2');
    await expect(readUploads([path.join(dir, 'nope.csv')])).rejects.toThrow('no such file');
    await expect(readUploads([path.join(dir, 'a')])).rejects.toThrow('a directory');
    await expect(readUploads([path.join(dir, 'x.csv'), path.join(dir, 'a', 'x.csv')])).rejects.toThrow(
      'also named "x.csv"',
    );
  });

  test('--options must be a JSON object', () => {
    expect(parseJsonObject('{"maxAttempts": 2}', '--options')).toEqual({ maxAttempts: 2 });
    expect(usage(() => parseJsonObject('[1]', '--options'))).toContain('a JSON object');
    expect(usage(() => parseJsonObject('{', '--options'))).toContain('not valid JSON');
  });
});
