import { relativePathProblem } from '../domain/file-names';

/**
 * Refuses an input file name that is not a relative path inside the workspace: uploads are plain
 * names, files handed on from earlier steps may sit in subfolders (`out/totals.csv`).
 */
export function assertInputName(name: string): void {
  if (relativePathProblem(name) !== null) {
    throw new Error(`Refusing input file name ${JSON.stringify(name)}: not a plain file name or relative path`);
  }
}

/** The error a run rejects with when its signal aborted it. */
export function abortError(signal: AbortSignal | undefined): Error {
  const error = new Error('The sandbox run was aborted', { cause: signal?.reason });
  error.name = 'AbortError';
  return error;
}
