import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { copyFile, mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { contentTypeFor, relativePathProblem } from '../domain/file-names';
import type { ArtifactRef } from '../domain/types';

const EXECUTION_ID = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,199}$/;

/** Thrown when a name or key would leave the execution's folder. */
export class UnsafePathError extends Error {
  override readonly name = 'UnsafePathError';
}

/**
 * Files of executions, on the local disk: `<root>/<executionId>/<scope>/<name>`. Uploaded inputs
 * live under scope `inputs`, files a step wrote under `steps/<stepId>/<attempt>`. Workflow
 * history only ever holds the returned references.
 */
export class ArtifactStore {
  constructor(readonly root: string) {}

  /** Stores `data` and returns its reference. */
  async put(executionId: string, scope: string, name: string, data: Buffer): Promise<ArtifactRef> {
    const key = this.keyFor(scope, name);
    const target = this.pathFor(executionId, key);
    await mkdir(path.dirname(target), { recursive: true });
    const temporary = `${target}.${process.pid}.${Date.now()}.partial`;
    await writeFile(temporary, data);
    await rename(temporary, target);
    return {
      name,
      key,
      size: data.length,
      sha256: createHash('sha256').update(data).digest('hex'),
      contentType: contentTypeFor(name),
    };
  }

  /** Copies the file at `source` into the store and returns its reference. */
  async putFile(executionId: string, scope: string, name: string, source: string): Promise<ArtifactRef> {
    const key = this.keyFor(scope, name);
    const target = this.pathFor(executionId, key);
    await mkdir(path.dirname(target), { recursive: true });
    const temporary = `${target}.${process.pid}.${Date.now()}.partial`;
    await copyFile(source, temporary);
    const hash = createHash('sha256');
    await pipeline(createReadStream(temporary), hash);
    const { size } = await stat(temporary);
    await rename(temporary, target);
    return { name, key, size, sha256: hash.digest('hex'), contentType: contentTypeFor(name) };
  }

  /** Copies a stored file of one execution to the same key of another. */
  async copy(fromExecutionId: string, key: string, toExecutionId: string): Promise<void> {
    const target = this.pathFor(toExecutionId, key);
    await mkdir(path.dirname(target), { recursive: true });
    await copyFile(this.pathFor(fromExecutionId, key), target);
  }

  async read(executionId: string, key: string): Promise<Buffer> {
    return readFile(this.pathFor(executionId, key));
  }

  /** The file's path on disk, or null when it is not stored. */
  async locate(executionId: string, key: string): Promise<string | null> {
    const target = this.pathFor(executionId, key);
    try {
      const info = await stat(target);
      return info.isFile() ? target : null;
    } catch {
      return null;
    }
  }

  /** Resolves a key inside the execution's folder, refusing anything that would leave it. */
  pathFor(executionId: string, key: string): string {
    if (!EXECUTION_ID.test(executionId)) throw new UnsafePathError(`invalid execution id ${executionId}`);
    const problem = relativePathProblem(key);
    if (problem !== null) throw new UnsafePathError(`artifact key ${JSON.stringify(key)} ${problem}`);
    const base = path.join(this.root, executionId);
    const target = path.join(base, ...key.split('/'));
    if (!target.startsWith(base + path.sep)) throw new UnsafePathError(`artifact key ${key} leaves its folder`);
    return target;
  }

  private keyFor(scope: string, name: string): string {
    const key = `${scope}/${name}`;
    const problem = relativePathProblem(key);
    if (problem !== null) throw new UnsafePathError(`artifact name ${JSON.stringify(key)} ${problem}`);
    return key;
  }
}
