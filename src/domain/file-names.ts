const MAX_NAME_LENGTH = 255;

/**
 * Why `name` cannot be an uploaded file's name, or null when it can. Uploaded files land in the
 * root of the sandbox workspace, so a name is one plain path segment.
 */
export function fileNameProblem(name: string): string | null {
  if (name.length === 0) return 'is empty';
  if (name.length > MAX_NAME_LENGTH) return `is longer than ${MAX_NAME_LENGTH} characters`;
  if (name === '.' || name === '..') return 'is not a file name';
  if (name.includes('/') || name.includes('\\')) return 'contains a path separator';
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(name)) return 'contains control characters';
  if (name.startsWith('.')) return 'starts with a dot';
  return null;
}

/** Why `relativePath` (segments joined by `/`) cannot name a stored file, or null when it can. */
export function relativePathProblem(relativePath: string): string | null {
  const segments = relativePath.split('/');
  if (segments.length > 16) return 'is nested too deeply';
  for (const segment of segments) {
    const problem = fileNameProblem(segment);
    if (problem !== null) return problem;
  }
  return null;
}

const CONTENT_TYPES: Record<string, string> = {
  csv: 'text/csv',
  tsv: 'text/tab-separated-values',
  txt: 'text/plain',
  md: 'text/markdown',
  json: 'application/json',
  html: 'text/html',
  png: 'image/png',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  svg: 'image/svg+xml',
  pdf: 'application/pdf',
  parquet: 'application/vnd.apache.parquet',
  xlsx: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
  py: 'text/x-python',
};

/** A content type guessed from the file's extension. */
export function contentTypeFor(name: string): string {
  const dot = name.lastIndexOf('.');
  const extension = dot === -1 ? '' : name.slice(dot + 1).toLowerCase();
  return CONTENT_TYPES[extension] ?? 'application/octet-stream';
}
