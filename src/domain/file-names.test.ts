import { contentTypeFor, fileNameProblem, relativePathProblem, rootPlacement } from './file-names';

describe('file names', () => {
  test.each(['sales.csv', 'Q1 report.xlsx', 'données-2024.csv'])('accepts %s', (name) => {
    expect(fileNameProblem(name)).toBeNull();
  });

  test.each([
    ['../../x', 'contains a path separator'],
    ['..', 'is not a file name'],
    ['', 'is empty'],
    ['a\\b', 'contains a path separator'],
    ['.bashrc', 'starts with a dot'],
    ['bad\u0000name', 'contains control characters'],
    ['x'.repeat(300), 'is longer than 255 characters'],
  ])('refuses %j', (name, problem) => {
    expect(fileNameProblem(name)).toBe(problem);
  });

  test('relative paths are checked segment by segment', () => {
    expect(relativePathProblem('steps/main/1/out.csv')).toBeNull();
    expect(relativePathProblem('steps/../../etc/passwd')).toBe('is not a file name');
    expect(relativePathProblem('/etc/passwd')).toBe('is empty');
  });

  test('content types come from the extension', () => {
    expect(contentTypeFor('plot.PNG')).toBe('image/png');
    expect(contentTypeFor('data.csv')).toBe('text/csv');
    expect(contentTypeFor('blob')).toBe('application/octet-stream');
  });

  describe('which input files also go to the root', () => {
    test.each(['sales.csv', 'Q1 report.xlsx', 'data', 'Etc', 'etc.csv', 'bin2'])('%j goes to /%s', (name) => {
      expect(rootPlacement(name)).toEqual({ kind: 'root' });
    });

    test.each(['etc', 'tmp', 'usr', 'bin', 'proc', 'dev', 'home', 'workspace', 'lib64', 'lost+found'])(
      '%j would shadow a system path and stays in the working directory, with a message',
      (name) => {
        expect(rootPlacement(name)).toEqual({
          kind: 'shadowing',
          message: `The file "${name}" is only in the working directory, not at /${name}: that would shadow a system path.`,
        });
      },
    );

    test("a name the sandbox's root already has is kept out too", () => {
      expect(rootPlacement('code', new Set(['code', 'e2b']))).toMatchObject({ kind: 'shadowing' });
      expect(rootPlacement('code')).toEqual({ kind: 'root' });
    });

    test('a file in a subfolder stays in the working directory, without a message', () => {
      expect(rootPlacement('out/totals.csv')).toEqual({ kind: 'nested' });
      expect(rootPlacement('etc/passwd')).toEqual({ kind: 'nested' });
    });
  });
});
