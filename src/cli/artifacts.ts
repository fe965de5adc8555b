import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { ArtifactRef, ExecutionResult } from '../domain/types';
import { CliError } from './cli-error';
import { EXIT } from './exit-codes';
import type { GatewayClient } from './gateway-client';
import type { FileRef, Snapshot } from './views';

/** A file of an execution, and where it came from: `input`, or the step and attempt that wrote it. */
export interface FileEntry {
  name: string;
  key: string;
  size: number;
  contentType: string;
  from: string;
  /** Among the execution's results (the files of each step's successful attempt, and the plots). */
  result: boolean;
}

/** Every file of an execution: the uploads, then what each attempt wrote, the results marked. */
export function executionFiles(snapshot: Snapshot): FileEntry[] {
  const byKey = new Map<string, FileEntry>();
  const add = (ref: ArtifactRef, from: string) => {
    if (!byKey.has(ref.key)) {
      byKey.set(ref.key, {
        name: ref.name,
        key: ref.key,
        size: ref.size,
        contentType: ref.contentType,
        from,
        result: false,
      });
    }
  };
  for (const input of snapshot.inputs ?? []) add(input, 'input');
  for (const step of snapshot.steps) {
    for (const attempt of step.attempts) {
      for (const file of attempt.files) add(file, `${step.id}#${attempt.n}`);
      for (const result of attempt.results) if (result.png) add(result.png, `${step.id}#${attempt.n}`);
    }
  }
  for (const ref of resultFiles(snapshot.result)) {
    add(ref, 'result');
    byKey.get(ref.key)!.result = true;
  }
  return [...byKey.values()];
}

/** The files and plots of a finished execution's result, each once. */
export function resultFiles(result: ExecutionResult | null | undefined): ArtifactRef[] {
  if (!result) return [];
  const seen = new Set<string>();
  return [...result.files, ...result.outputs.plots].filter((ref) => !seen.has(ref.key) && seen.add(ref.key));
}

/**
 * The file `wanted` names: its key, or its name (a result's first, else the last attempt's).
 * @throws CliError (not found) naming what to run instead.
 */
export function pickFile(files: FileEntry[], wanted: string, executionId: string): FileEntry {
  const byKey = files.find((file) => file.key === wanted);
  if (byKey) return byKey;
  const named = files.filter((file) => file.name === wanted);
  const chosen = named.find((file) => file.result) ?? named.at(-1);
  if (chosen) return chosen;
  throw new CliError(
    EXIT.NOT_FOUND,
    `No file "${wanted}" in ${executionId}; \`agent-exec files ${executionId}\` lists its files.`,
  );
}

export interface SavedFile {
  name: string;
  key: string;
  path: string;
  size: number;
}

/** The download path of a file of execution `id`. */
export function artifactPath(id: string, ref: Pick<FileRef, 'key' | 'url'>): string {
  return (
    ref.url ??
    `/api/executions/${encodeURIComponent(id)}/artifacts/${ref.key.split('/').map(encodeURIComponent).join('/')}`
  );
}

/**
 * Downloads `files` of execution `id` into `dir` (made when missing). A file already there is never
 * overwritten: the download gets a free name beside it (`revenue-1.png`), so an execution cannot
 * replace a person's own files.
 */
export async function saveFiles(
  client: GatewayClient,
  id: string,
  files: Array<Pick<FileRef, 'name' | 'key' | 'url'>>,
  dir: string,
): Promise<SavedFile[]> {
  if (files.length === 0) return [];
  try {
    await mkdir(dir, { recursive: true });
  } catch (error) {
    throw new CliError(EXIT.USAGE, `--out ${dir}: cannot make the folder (${(error as NodeJS.ErrnoException).code})`);
  }
  const saved: SavedFile[] = [];
  for (const file of files) {
    const bytes = await client.bytes(artifactPath(id, file));
    const target = await writeFresh(dir, path.basename(file.name), bytes);
    saved.push({ name: file.name, key: file.key, path: target, size: bytes.length });
  }
  return saved;
}

async function writeFresh(dir: string, name: string, bytes: Buffer): Promise<string> {
  const { name: stem, ext } = path.parse(name === '' || name === '..' ? 'file' : name);
  for (let n = 0; ; n++) {
    const target = path.join(dir, n === 0 ? `${stem}${ext}` : `${stem}-${n}${ext}`);
    try {
      await writeFile(target, bytes, { flag: 'wx' });
      return target;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'EEXIST') continue;
      throw new CliError(EXIT.ERROR, `Cannot write ${target}: ${code ?? (error as Error).message}`);
    }
  }
}
