import type { Readable } from 'node:stream';
import type { ArtifactRef } from '../domain/types';

export {
  ArtifactIntegrityError,
  ArtifactNotFoundError,
  ArtifactStoreUnavailableError,
  UnsafePathError,
} from './artifact-keys';

/** What a store knows about one stored file without reading it. */
export interface ArtifactInfo {
  key: string;
  size: number;
}

/** Byte offsets, both inclusive, as in an HTTP Range header; without `end`, to the end of the file. */
export interface ByteRange {
  start: number;
  end?: number;
}

/**
 * Files of executions: uploaded inputs under the key `inputs/<name>`, files a step wrote under
 * `steps/<stepId>/<attempt>/<name>`. Workflow history only ever holds the returned references.
 * Keys are relative paths of plain segments, checked by every method: `..` and absolute keys throw
 * UnsafePathError. Nothing here is a path on this host, so that workers on other machines can share
 * a store.
 */
export interface ArtifactStore {
  /**
   * Resolves when the store can be used with its settings.
   * @throws ArtifactStoreUnavailableError when it cannot be reached for now, Error when its settings are wrong
   */
  check(): Promise<void>;
  /** Stores `data` under `<scope>/<name>`, replacing what was there, and returns its reference. */
  put(executionId: string, scope: string, name: string, data: Buffer): Promise<ArtifactRef>;
  /** Stores what `source` yields under `<scope>/<name>`; nothing is stored if the stream fails. */
  putStream(executionId: string, scope: string, name: string, source: Readable): Promise<ArtifactRef>;
  /** @throws ArtifactNotFoundError */
  read(executionId: string, key: string): Promise<Buffer>;
  /**
   * The file's bytes, or those of `range`, as a stream that is already open.
   * @throws ArtifactNotFoundError
   */
  readStream(executionId: string, key: string, range?: ByteRange): Promise<Readable>;
  /** Null when nothing is stored under `key`. */
  stat(executionId: string, key: string): Promise<ArtifactInfo | null>;
  /** Every file of the execution, or those below the folder key `under`, in key order. */
  list(executionId: string, under?: string): Promise<ArtifactInfo[]>;
  /** Removes the file; false when there was none. */
  delete(executionId: string, key: string): Promise<boolean>;
  /** Removes every file of the execution; resolves with how many there were. */
  deleteAll(executionId: string): Promise<number>;
  /** Every execution that has files, with when its newest file was written. */
  executions(): Promise<Array<{ executionId: string; modifiedAt: Date }>>;
  /**
   * Copies a file of one execution to the same key of another (a retry reuses its parent's files).
   * @throws ArtifactNotFoundError
   */
  copy(fromExecutionId: string, key: string, toExecutionId: string): Promise<void>;
}
