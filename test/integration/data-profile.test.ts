import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FileProfile } from '../../src/domain/data-profile';
import { answer } from '../support/fake-model';
import { base64, useHarness } from '../support/harness';

/** An Excel workbook made by the sandbox's own Python (pandas and openpyxl from Debian). */
function workbook(): Buffer {
  const dir = mkdtempSync(join(tmpdir(), 'workbook-'));
  try {
    const path = join(dir, 'book.xlsx');
    execFileSync('/usr/bin/python3', [
      '-c',
      `import pandas as pd\npd.DataFrame({"city": ["Oslo", "Lima"], "people": [709000, 10000000]}).to_excel(${JSON.stringify(path)}, sheet_name="Cities", index=False)`,
    ]);
    return readFileSync(path);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Uploaded files are profiled inside the sandbox before planning: the snapshot shows the profile,
 * the profile is an artifact, and the prompts quote it instead of the files' first bytes.
 */
describe('data profiles', () => {
  const harness = useHarness();

  test('formats, encodings, delimiters, column types and missing values, for every kind of file', async () => {
    // A European CSV: ';' between fields, ',' as the decimal mark, Windows-1252 text, a missing value.
    const european = Buffer.from('ville;chiffre\nSão Paulo;12,5\nZürich;\nKöln;7,25\n', 'latin1');
    const files = [
      { name: 'ventes.csv', content: european.toString('base64') },
      { name: 'events.jsonl', content: base64('{"kind": "click", "ms": 12}\n{"kind": "view", "ms": null}\n') },
      { name: 'book.xlsx', content: workbook().toString('base64') },
      { name: 'table.parquet', content: base64('PAR1 not really a parquet file') },
      { name: 'blob.bin', content: Buffer.from([0, 1, 2, 3, 255, 254, 0, 7]).toString('base64') },
    ];
    harness.fake.script(answer.plan(), answer.code("print('ok')"), answer.analysis('Fine.'));
    const response = await harness.request('POST', '/api/executions', { task: 'Describe the data.', files });
    expect(response.status).toBe(202);
    const done = await harness.waitForEnd(response.body.id);
    expect(done.status).toBe('succeeded');

    const byName = new Map(done.dataProfile?.files.map((file) => [file.name, file]));
    expect(byName.get('ventes.csv')).toMatchObject({
      format: 'csv',
      delimiter: ';',
      encoding: 'cp1252',
      rows: 3,
      columnCount: 2,
      columns: [
        { name: 'ville', dtype: 'object', missing: 0 },
        { name: 'chiffre', dtype: 'float64', missing: 1 },
      ],
    });
    expect(byName.get('events.jsonl')).toMatchObject({
      format: 'jsonl',
      rows: 2,
      columns: [
        { name: 'kind', dtype: 'object', missing: 0 },
        { name: 'ms', dtype: 'float64', missing: 1 },
      ],
    });
    expect(byName.get('book.xlsx')).toMatchObject({
      format: 'excel',
      rows: 2,
      columns: [
        { name: 'city', dtype: 'object' },
        { name: 'people', dtype: 'int64' },
      ],
    });
    expect(byName.get('table.parquet')).toMatchObject({ format: 'parquet' });
    expect(byName.get('table.parquet')?.error).toContain('no reader for Parquet');
    expect(byName.get('blob.bin')).toMatchObject({ format: 'binary', error: expect.stringContaining('binary') });
    // Files that could not be read are said to be so.
    const warnings = done.messages.filter((message) => message.level === 'warning').map((message) => message.message);
    expect(warnings).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^table\.parquet could not be read: /),
        expect.stringMatching(/^blob\.bin could not be read: /),
      ]),
    );
    expect(done.timeline.map((event) => event.description)).toEqual(
      expect.arrayContaining(['profiling the data files', 'profiled 5 file(s)']),
    );

    // The whole profile (examples and samples too) is an artifact to download.
    const url = (done.dataProfile?.artifact as { url?: string } | null)?.url;
    expect(url).toMatch(/\/artifacts\/profile\/profile\.json$/);
    const full = (await (await fetch(`${harness.baseUrl}${url}`)).json()) as { files: FileProfile[] };
    const ventes = full.files.find((file) => file.name === 'ventes.csv');
    expect(ventes?.columns?.[0].examples).toEqual(['São Paulo', 'Zürich', 'Köln']);
    expect(ventes?.columns?.[1]).toMatchObject({ min: 7.25, max: 12.5 });

    // The prompts quote the profile: the plan's and the code's alike.
    for (const request of harness.fake.requests.filter((sent) => sent.purpose !== 'analysis')) {
      expect(request.user).toContain('File "ventes.csv" (');
      expect(request.user).toContain('Format: CSV (delimiter ";", decimal mark ",", encoding cp1252)');
      expect(request.user).toContain('- "chiffre": float64, 1 missing, from 7.25 to 12.5');
      expect(request.user).toContain('Format: Excel workbook (sheet "Cities" of 1)');
      expect(request.user).toMatch(
        /File "table\.parquet" .*\n.*\nCould not be read in the sandbox: no reader for Parquet/,
      );
    }
  });

  test('an execution without files, or with given code, is not profiled', async () => {
    harness.fake.script(answer.plan(), answer.code("print('no files')"), answer.analysis('Nothing to read.'));
    const first = await harness.request('POST', '/api/executions', { task: 'No files at all.' });
    const second = await harness.request('POST', '/api/executions', {
      code: "print(open('a.csv').read())",
      files: [{ name: 'a.csv', content: base64('x\n1\n') }],
    });
    for (const id of [first.body.id, second.body.id]) {
      const done = await harness.waitForEnd(id);
      expect(done.status).toBe('succeeded');
      expect(done.dataProfile).toBeNull();
      expect(done.timeline.map((event) => event.description)).not.toContain('profiling the data files');
    }
  });
});
