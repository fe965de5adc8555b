import { contentTypeFor, fileNameProblem, relativePathProblem } from './file-names';

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
});
