import { createHash, randomUUID } from 'node:crypto';
import { constants, createWriteStream } from 'node:fs';
import {
  access,
  copyFile,
  mkdir,
  open,
  readdir,
  readFile,
  rename,
  rm,
  stat,
  unlink,
  writeFile,
} from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { contentTypeFor } from '../domain/file-names';
import type { ArtifactRef } from '../domain/types';
import { ArtifactNotFoundError, UnsafePathError, checkExecutionId, checkKey, keyFor } from './artifact-keys';
import type { ArtifactInfo, ArtifactStore, ByteRange } from './artifact-store';

/**
 * Partly written files wait here, on the same file system as the store, until a rename puts them in
 * place whole. No execution id starts with a dot, so no execution's folder can be this one.
 */
const PARTIAL_DIR = '.partial';

/** Error codes that mean "no file there" when a path is opened, read or removed. */
const MISSING = new Set(['ENOENT', 'ENOTDIR', 'EISDIR']);

/** The artifact store in a folder on this host's disk: `<root>/<executionId>/<key>`. */
export class LocalArtifactStore implements ArtifactStore {
  constructor(readonly root: string) {}

  async check(): Promise<void> {
    try {
      await mkdir(this.root, { recursive: true });
      await access(this.root, constants.W_OK);
    } catch (error) {
      throw new Error(`the artifact folder ${this.root} cannot be written: ${(error as Error).message}`, {
        cause: error,
      });
    }
  }

  async put(executionId: string, scope: string, name: string, data: Buffer): Promise<ArtifactRef> {
    const key = keyFor(scope, name);
    const target = this.pathFor(executionId, key);
    await this.placeWhole(target, (partial) => writeFile(partial, data, { flag: 'wx' }));
    return refFor(name, key, data.length, createHash('sha256').update(data).digest('hex'));
  }

  async putStream(executionId: string, scope: string, name: string, source: Readable): Promise<ArtifactRef> {
    const key = keyFor(scope, name);
    const target = this.pathFor(executionId, key);
    const hash = createHash('sha256');
    let size = 0;
    await this.placeWhole(target, (partial) =>
      pipeline(
        source,
        async function* (chunks: AsyncIterable<Buffer | string>) {
          for await (const chunk of chunks) {
            const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
            hash.update(bytes);
            size += bytes.length;
            yield bytes;
          }
        },
        createWriteStream(partial, { flags: 'wx' }),
      ),
    );
    return refFor(name, key, size, hash.digest('hex'));
  }

  async read(executionId: string, key: string): Promise<Buffer> {
    const target = this.pathFor(executionId, key);
    try {
      return await readFile(target);
    } catch (error) {
      throw notFoundOr(error, executionId, key);
    }
  }

  async readStream(executionId: string, key: string, range?: ByteRange): Promise<Readable> {
    const target = this.pathFor(executionId, key);
    // Opened before the stream exists, so that a missing file rejects here rather than mid-stream.
    const handle = await open(target, 'r').catch((error: unknown) => {
      throw notFoundOr(error, executionId, key);
    });
    try {
      if (!(await handle.stat()).isFile())
        throw new ArtifactNotFoundError(`execution ${executionId} has no file ${key}`);
    } catch (error) {
      await handle.close();
      throw error;
    }
    if (range === undefined) return handle.createReadStream();
    return handle.createReadStream(range.end === undefined ? { start: range.start } : range);
  }

  async stat(executionId: string, key: string): Promise<ArtifactInfo | null> {
    const target = this.pathFor(executionId, key);
    try {
      const info = await stat(target);
      return info.isFile() ? { key, size: info.size } : null;
    } catch (error) {
      if (isMissing(error)) return null;
      throw error;
    }
  }

  async list(executionId: string, under?: string): Promise<ArtifactInfo[]> {
    checkExecutionId(executionId);
    if (under !== undefined) checkKey(under);
    const found: ArtifactInfo[] = [];
    const walk = async (folder: string, prefix: string): Promise<void> => {
      let entries;
      try {
        entries = await readdir(folder, { withFileTypes: true });
      } catch (error) {
        if (isMissing(error)) return;
        throw error;
      }
      for (const entry of entries) {
        const key = prefix === '' ? entry.name : `${prefix}/${entry.name}`;
        const location = path.join(folder, entry.name);
        // Only what this store wrote: regular files and folders, never a link to elsewhere.
        if (entry.isDirectory()) await walk(location, key);
        else if (entry.isFile()) found.push({ key, size: (await stat(location)).size });
      }
    };
    await walk(under === undefined ? this.executionFolder(executionId) : this.pathFor(executionId, under), under ?? '');
    return found.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  async delete(executionId: string, key: string): Promise<boolean> {
    const target = this.pathFor(executionId, key);
    try {
      await unlink(target);
      return true;
    } catch (error) {
      // A folder is not a file of the store; unlink refuses it with EISDIR (or EPERM elsewhere).
      if (isMissing(error) || (error as NodeJS.ErrnoException).code === 'EPERM') return false;
      throw error;
    }
  }

  async deleteAll(executionId: string): Promise<number> {
    const files = await this.list(executionId);
    await rm(this.executionFolder(executionId), { recursive: true, force: true });
    return files.length;
  }

  async executions(): Promise<Array<{ executionId: string; modifiedAt: Date }>> {
    let entries;
    try {
      entries = await readdir(this.root, { withFileTypes: true });
    } catch (error) {
      if (isMissing(error)) return [];
      throw error;
    }
    const found: Array<{ executionId: string; modifiedAt: Date }> = [];
    for (const entry of entries) {
      if (!entry.isDirectory() || entry.name === PARTIAL_DIR) continue;
      let newest = (await stat(path.join(this.root, entry.name))).mtimeMs;
      const walk = async (folder: string): Promise<void> => {
        for (const inner of await readdir(folder, { withFileTypes: true })) {
          const location = path.join(folder, inner.name);
          if (inner.isDirectory()) await walk(location);
          else if (inner.isFile()) newest = Math.max(newest, (await stat(location)).mtimeMs);
        }
      };
      await walk(path.join(this.root, entry.name));
      found.push({ executionId: entry.name, modifiedAt: new Date(newest) });
    }
    return found.sort((a, b) => (a.executionId < b.executionId ? -1 : 1));
  }

  async copy(fromExecutionId: string, key: string, toExecutionId: string): Promise<void> {
    const source = this.pathFor(fromExecutionId, key);
    const target = this.pathFor(toExecutionId, key);
    if ((await this.stat(fromExecutionId, key)) === null) {
      throw new ArtifactNotFoundError(`execution ${fromExecutionId} has no file ${key}`);
    }
    await this.placeWhole(target, (partial) => copyFile(source, partial));
  }

  /** Writes a file with `write` under a temporary name, then renames it to `target` whole. */
  private async placeWhole(target: string, write: (partial: string) => Promise<unknown>): Promise<void> {
    const partialDir = path.join(this.root, PARTIAL_DIR);
    await Promise.all([mkdir(partialDir, { recursive: true }), mkdir(path.dirname(target), { recursive: true })]);
    const partial = path.join(partialDir, randomUUID());
    try {
      await write(partial);
      await rename(partial, target);
    } catch (error) {
      await rm(partial, { force: true });
      throw error;
    }
  }

  private executionFolder(executionId: string): string {
    checkExecutionId(executionId);
    return path.join(this.root, executionId);
  }

  /** Resolves a key inside the execution's folder, refusing anything that would leave it. */
  private pathFor(executionId: string, key: string): string {
    const base = this.executionFolder(executionId);
    checkKey(key);
    const target = path.join(base, ...key.split('/'));
    // checkKey already refuses `..` and absolute keys; this guards the join itself.
    if (!target.startsWith(base + path.sep)) throw new UnsafePathError(`artifact key ${key} leaves its folder`);
    return target;
  }
}

function refFor(name: string, key: string, size: number, sha256: string): ArtifactRef {
  return { name, key, size, sha256, contentType: contentTypeFor(name) };
}

function isMissing(error: unknown): boolean {
  return MISSING.has((error as NodeJS.ErrnoException | undefined)?.code ?? '');
}

function notFoundOr(error: unknown, executionId: string, key: string): unknown {
  return isMissing(error)
    ? new ArtifactNotFoundError(`execution ${executionId} has no file ${key}`, { cause: error })
    : error;
}
