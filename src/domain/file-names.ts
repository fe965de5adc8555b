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

/**
 * Top-level names of a Linux root (the FHS ones, what the sandboxes add, and the folders holding the
 * working directory: `/workspace` locally, `/home/user/workspace` on E2B). An input file of one of
 * these names would shadow or collide with a system path, so it is never also placed at the root.
 */
export const SYSTEM_ROOT_NAMES: ReadonlySet<string> = new Set([
  'bin',
  'boot',
  'dev',
  'etc',
  'home',
  'lib',
  'lib32',
  'lib64',
  'libx32',
  'lost+found',
  'media',
  'mnt',
  'opt',
  'proc',
  'root',
  'run',
  'sbin',
  'snap',
  'srv',
  'sys',
  'tmp',
  'usr',
  'var',
  'workspace',
]);

/**
 * Where a sandbox places one input file besides the working directory: `root` also at `/<name>`;
 * `nested` (a file handed on in a subfolder, `out/totals.csv`) and `shadowing` (a name the root
 * already has) in the working directory only, the latter with a message for the execution's log.
 */
export type RootPlacement = { kind: 'root' } | { kind: 'nested' } | { kind: 'shadowing'; message: string };

/**
 * Whether the input `name` (a relative path in the working directory) also goes to `/<name>`.
 * `present` holds the top-level entries the sandbox's root has besides the system ones.
 */
export function rootPlacement(name: string, present: ReadonlySet<string> = new Set()): RootPlacement {
  if (name.includes('/')) return { kind: 'nested' };
  if (SYSTEM_ROOT_NAMES.has(name) || present.has(name)) {
    return {
      kind: 'shadowing',
      message: `The file ${JSON.stringify(name)} is only in the working directory, not at /${name}: that would shadow a system path.`,
    };
  }
  return { kind: 'root' };
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
