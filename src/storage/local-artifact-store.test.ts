import { mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { describeArtifactStoreContract } from '../../test/support/artifact-store-contract';
import { UnsafePathError } from './artifact-store';
import { LocalArtifactStore } from './local-artifact-store';

let root: string;
let store: LocalArtifactStore;

beforeEach(() => {
  root = mkdtempSync(path.join(tmpdir(), 'local-artifact-store-'));
  store = new LocalArtifactStore(root);
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

describe('the artifact store contract', () => {
  describeArtifactStoreContract(() => store);
});

test('files are kept at <root>/<executionId>/<key>, and nothing half-written is left behind', async () => {
  await store.put('exec-1', 'inputs', 'sales.csv', Buffer.from('a,b\n'));
  await store.putStream('exec-1', 'steps/s/1', 'out.txt', Readable.from([Buffer.from('out')]));

  expect(readFileSync(path.join(root, 'exec-1', 'inputs', 'sales.csv'), 'utf8')).toBe('a,b\n');
  expect(readFileSync(path.join(root, 'exec-1', 'steps', 's', '1', 'out.txt'), 'utf8')).toBe('out');
  expect(readdirSync(path.join(root, '.partial'))).toEqual([]);
});

test('a failing source leaves no partial file', async () => {
  async function* failing() {
    yield Buffer.from('partial');
    throw new Error('the source broke');
  }
  await expect(store.putStream('exec-1', 'inputs', 'broken.csv', Readable.from(failing()))).rejects.toThrow(
    'the source broke',
  );
  expect(readdirSync(path.join(root, '.partial'))).toEqual([]);
});

test("something that is not the store's own (a link to elsewhere) is not listed", async () => {
  await store.put('exec-1', 'inputs', 'z.csv', Buffer.from('z'));
  symlinkSync('/etc/passwd', path.join(root, 'exec-1', 'inputs', 'passwd'));

  expect(await store.list('exec-1')).toEqual([{ key: 'inputs/z.csv', size: 1 }]);
});

test('a refused key touches nothing outside the store', async () => {
  writeFileSync(path.join(root, 'marker'), 'kept');
  await expect(store.read('exec-1', '../marker')).rejects.toThrow(UnsafePathError);
  await expect(store.delete('exec-1', '../marker')).rejects.toThrow(UnsafePathError);
  expect(readFileSync(path.join(root, 'marker'), 'utf8')).toBe('kept');
});

test('check() names a folder that cannot be made', async () => {
  writeFileSync(path.join(root, 'taken'), 'a file where a folder should be');

  await expect(new LocalArtifactStore(path.join(root, 'taken', 'artifacts')).check()).rejects.toThrow(
    /artifact folder .*taken\/artifacts cannot be written/,
  );
});
