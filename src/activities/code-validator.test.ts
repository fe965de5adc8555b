import { CodeValidator } from './code-validator';

describe('code validator', () => {
  const validator = new CodeValidator('/usr/bin/python3');
  afterAll(() => validator.close());

  test('accepts ordinary analysis code', async () => {
    const report = await validator.validate("import pandas as pd\ndf = pd.read_csv('sales.csv')\nprint(df.sum())");
    expect(report).toEqual({ ok: true, problems: [] });
  });

  test('names syntax errors, forbidden imports and paths outside the workspace', async () => {
    expect((await validator.validate('print(')).problems[0]).toMatch(/^SyntaxError: .*line 1/);
    const report = await validator.validate(
      "import subprocess\nfrom socket import socket\nopen('/etc/passwd')\nopen('../other/x.csv')",
    );
    expect(report.ok).toBe(false);
    expect(report.problems).toEqual([
      expect.stringContaining('line 1: importing subprocess'),
      expect.stringContaining('line 2: importing socket'),
      expect.stringContaining("line 3: the path '/etc/passwd'"),
      expect.stringContaining("line 4: the path '../other/x.csv'"),
    ]);
    expect((await validator.validate('   ')).problems).toEqual(['the code is empty']);
  });

  test('answers many requests in order from one process, and survives pathological input', async () => {
    const reports = await Promise.all(
      Array.from({ length: 20 }, (_, i) => validator.validate(i % 2 === 0 ? `x = ${i}` : `x = (${i}`)),
    );
    expect(reports.map((report) => report.ok)).toEqual(Array.from({ length: 20 }, (_, i) => i % 2 === 0));
    const deep = await validator.validate(`x = ${'('.repeat(10_000)}1${')'.repeat(10_000)}`);
    expect(deep).toEqual({ ok: false, problems: [expect.stringMatching(/^SyntaxError: .*\(line 1\)$/)] });
    expect((await validator.validate('print(1)')).ok).toBe(true);
  });

  test('with the modules a sandbox has, names an import of one it lacks and what it has instead', async () => {
    const installed = { name: 'test-sandbox', all: ['json', 'os', 'pandas', 'numpy'], thirdParty: ['numpy', 'pandas'] };
    const report = await validator.validate(
      'import json, sklearn\nfrom pandas import DataFrame\nfrom statsmodels.api import OLS\nimport ml\nfrom . import local',
      installed,
    );
    expect(report.problems).toEqual([
      "line 1: there is no module sklearn in the sandbox's Python; besides the standard library it has numpy, pandas",
      "line 3: there is no module statsmodels in the sandbox's Python; besides the standard library it has numpy, pandas",
    ]);
    // The set is sent once and kept by name; without a set, nothing is checked against one.
    expect((await validator.validate('import pandas', installed)).ok).toBe(true);
    expect((await validator.validate('import sklearn')).ok).toBe(true);
  });
});
