import { relativePathProblem } from '../domain/file-names';

const EXECUTION_ID = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,199}$/;

/** Thrown when an execution id, name or key would leave the execution's own files. */
export class UnsafePathError extends Error {
  override readonly name = 'UnsafePathError';
}

/** Thrown when a stored file is asked for that is not there. */
export class ArtifactNotFoundError extends Error {
  override readonly name = 'ArtifactNotFoundError';
}

/** Thrown when a file's bytes no longer match the sha256 they were stored with. */
export class ArtifactIntegrityError extends Error {
  override readonly name = 'ArtifactIntegrityError';
}

/** Thrown when the store itself cannot be reached (a remote store's service is down). */
export class ArtifactStoreUnavailableError extends Error {
  override readonly name = 'ArtifactStoreUnavailableError';
}

/**
 * Refuses an execution id that could not be a folder or key prefix of its own. Every store checks
 * ids and keys the same way, so that what one store accepts another accepts too.
 * @throws UnsafePathError
 */
export function checkExecutionId(executionId: string): void {
  if (!EXECUTION_ID.test(executionId)) throw new UnsafePathError(`invalid execution id ${executionId}`);
}

/**
 * Refuses a key that is not a relative path of plain segments (no `..`, no leading `/`, no hidden
 * names), before any store touches it.
 * @throws UnsafePathError
 */
export function checkKey(key: string): void {
  const problem = relativePathProblem(key);
  if (problem !== null) throw new UnsafePathError(`artifact key ${JSON.stringify(key)} ${problem}`);
}

/** The key of the file `name` in `scope` (`inputs`, `steps/<stepId>/<attempt>`). */
export function keyFor(scope: string, name: string): string {
  const key = `${scope}/${name}`;
  const problem = relativePathProblem(key);
  if (problem !== null) throw new UnsafePathError(`artifact name ${JSON.stringify(key)} ${problem}`);
  return key;
}
