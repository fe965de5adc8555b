import { randomBytes } from 'node:crypto';
import { constants as fsConstants, createWriteStream } from 'node:fs';
import { chown, copyFile, link, lstat, mkdir, readFile, readdir, realpath, rename, rm } from 'node:fs/promises';
import { dirname, join, sep } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { z } from 'zod';
import { rootPlacement } from '../domain/file-names';
import { MESSAGE_LEVELS } from '../domain/types';
import type { SandboxInputFile, SandboxMessage, SandboxOutputFile, SandboxResult } from './types';

const RESULT_FILE = 'result.json';
/** Written files in these folders are caches, not output. */
const SKIPPED_DIRS = new Set(['__pycache__', '.matplotlib', '.cache']);

const runnerOutcomeSchema = z.object({
  results: z.array(
    z.object({
      text: z.string().optional(),
      html: z.string().optional(),
      markdown: z.string().optional(),
      json: z.unknown().optional(),
      png: z.string().optional(),
      isMainResult: z.boolean(),
    }),
  ),
  messages: z
    .array(z.object({ level: z.enum(MESSAGE_LEVELS), message: z.string() }))
    .max(200)
    .default([]),
  error: z.object({ name: z.string(), value: z.string(), traceback: z.string() }).nullable(),
  failure: z.enum(['CODE_ERROR', 'RESOURCE_EXHAUSTED']).nullable(),
  cpuMs: z.number().nonnegative(),
  peakMemoryBytes: z.number().nonnegative(),
});
/** What the runner reports; untrusted, since the code could have written it. */
export type RunnerOutcome = z.infer<typeof runnerOutcomeSchema>;

/** Enough to tell whether an input file was rewritten. */
export interface FileStamp {
  ino: bigint;
  size: bigint;
  mtimeNs: bigint;
  ctimeNs: bigint;
}

/**
 * Copies the inputs into a workspace (owned by `uid` when given) and stamps them, so that collection
 * can tell an untouched input from a rewritten one. Each input with a plain name is also linked into
 * `rootDir` (the sandbox's read-only `/`): the same file, read-only at `/<name>`. One that would
 * shadow a system path, or an entry the root already has, is not, and `messages` say so.
 */
export async function placeInputs(
  files: SandboxInputFile[],
  workspace: string,
  uid: number | null,
  rootDir: string,
): Promise<{ stamps: Map<string, FileStamp>; messages: SandboxMessage[] }> {
  const stamps = new Map<string, FileStamp>();
  const messages: SandboxMessage[] = [];
  // bwrap's mount points there (usr, etc, workspace…) are system names; a cold sandbox may not have
  // made them yet, which the fixed list of those names covers.
  const present = new Set(await readdir(rootDir));
  for (const file of files) {
    const target = join(workspace, file.name);
    // Files handed on from earlier steps may sit in subfolders, made here with the sandbox's owner.
    await mkdir(dirname(target), { recursive: true });
    if (uid !== null) {
      for (let folder = dirname(target); folder !== workspace; folder = dirname(folder)) await chown(folder, uid, uid);
    }
    // Fresh bytes in a new file (never a link to the stored one, which the code could write through).
    await pipeline(await file.open(), createWriteStream(target, { flags: 'wx' }));
    if (uid !== null) await chown(target, uid, uid);
    let placement = rootPlacement(file.name, present);
    // A hard link, made before the stamp since it changes the file's ctime: the same bytes at no
    // extra room, and the read-only root stops writes through /<name>.
    if (placement.kind === 'root' && !(await linkIfFree(target, join(rootDir, file.name)))) {
      placement = rootPlacement(file.name, new Set([file.name]));
    }
    if (placement.kind === 'shadowing') messages.push({ level: 'warning', message: placement.message });
    stamps.set(file.name, await stampOf(target));
  }
  return { stamps, messages };
}

/**
 * Moves every file the code wrote (not an unchanged input) into `outputDir`. It runs after the
 * sandbox is gone, so nothing changes under it; it still never follows a symlink. `skipped` counts
 * the files left out past `maxFiles`.
 */
export async function collectWrittenFiles(
  workspace: string,
  inputs: Map<string, FileStamp>,
  outputDir: string,
  maxFiles: number,
): Promise<{ files: SandboxOutputFile[]; skipped: number }> {
  const files: SandboxOutputFile[] = [];
  let skipped = 0;
  const root = await realpath(workspace);
  const visit = async (dir: string, prefix: string): Promise<void> => {
    const entries = (await readdir(dir, { withFileTypes: true })).sort((a, b) => a.name.localeCompare(b.name));
    for (const entry of entries) {
      const path = join(dir, entry.name);
      const name = prefix + entry.name;
      // Dirent types come from lstat: a symlink to a folder is a symlink here, never descended into.
      if (entry.isDirectory()) {
        if (!SKIPPED_DIRS.has(entry.name)) await visit(path, `${name}/`);
        continue;
      }
      if (!entry.isFile()) continue;
      const stamp = await stampOf(path);
      const input = inputs.get(name);
      if (input && sameStamp(input, stamp)) continue;
      if (!(await realpath(path)).startsWith(root + sep)) continue;
      if (files.length >= maxFiles) {
        skipped++;
        continue;
      }
      const destination = join(outputDir, name);
      await mkdir(dirname(destination), { recursive: true });
      await moveFile(path, destination);
      files.push({ name, path: destination, size: Number(stamp.size) });
    }
  };
  await visit(workspace, '');
  return { files, skipped };
}

/**
 * Moves the runner's PNG results into `outputDir` under names no written file uses. A figure over
 * `maxPngBytes` is dropped; `dropped` names it and its size.
 */
export async function placeFigures(
  results: RunnerOutcome['results'],
  resultsDir: string,
  outputDir: string,
  taken: Set<string>,
  maxPngBytes: number,
): Promise<{ results: SandboxResult[]; dropped: { name: string; bytes: number }[] }> {
  const placed: SandboxResult[] = [];
  const dropped: { name: string; bytes: number }[] = [];
  for (const { png, ...rest } of results) {
    const result: SandboxResult = { ...rest };
    // The result file is written where the code could write too: trust no name in it.
    const match = png === undefined ? null : /^figure-(\d{1,6})\.png$/.exec(png);
    const info = png !== undefined && match ? await lstat(join(resultsDir, png)).catch(() => null) : null;
    if (png !== undefined && match && info?.isFile()) {
      if (info.size > maxPngBytes) {
        dropped.push({ name: png, bytes: info.size });
      } else {
        let name = png;
        for (let n = 2; taken.has(name); n++) name = `figure-${match[1]}-${n}.png`;
        taken.add(name);
        await moveFile(join(resultsDir, png), join(outputDir, name));
        result.png = name;
      }
    }
    const shown = [result.png, result.text, result.html, result.markdown, result.json];
    if (shown.some((value) => value !== undefined)) placed.push(result);
  }
  return { results: placed, dropped };
}

/** The runner's report, or null when it is missing, too large or not what the runner writes. */
export async function readRunnerOutcome(resultsDir: string, maxOutputBytes: number): Promise<RunnerOutcome | null> {
  const path = join(resultsDir, RESULT_FILE);
  const info = await lstat(path).catch(() => null);
  // The runner caps each text it writes at maxOutputBytes characters; JSON escapes can multiply that.
  if (!info?.isFile() || info.size > 32 * maxOutputBytes + 1024 ** 2) return null;
  try {
    const parsed = runnerOutcomeSchema.safeParse(JSON.parse(await readFile(path, 'utf8')));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}

/** Allocated bytes and entries under `dirs`, counting at most `maxEntries` entries. */
export async function diskUsage(dirs: string[], maxEntries: number): Promise<{ bytes: number; entries: number }> {
  let bytes = 0;
  let entries = 0;
  const pending = [...dirs];
  while (pending.length > 0 && entries <= maxEntries) {
    const dir = pending.pop() as string;
    const names = await readdir(dir).catch(() => [] as string[]);
    for (const name of names) {
      entries++;
      const info = await lstat(join(dir, name)).catch(() => null);
      if (!info) continue;
      // Allocated blocks, not the apparent size: a sparse file takes no room.
      bytes += info.blocks * 512;
      if (info.isDirectory()) pending.push(join(dir, name));
    }
  }
  return { bytes, entries };
}

/** Makes `${root}/${prefix}XXXXXXXXXXXX`, readable by its owner only. */
export async function mkdtempUnder(root: string, prefix: string): Promise<string> {
  const path = join(root, prefix + randomBytes(6).toString('hex'));
  await mkdir(path, { mode: 0o700 });
  return path;
}

/** Removes a folder, ignoring that it is already gone. */
export async function removeTree(path: string): Promise<void> {
  await rm(path, { recursive: true, force: true });
}

async function moveFile(from: string, to: string): Promise<void> {
  try {
    await rename(from, to);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EXDEV') throw error;
    await copyFile(from, to, fsConstants.COPYFILE_FICLONE);
  }
}

/** Links `target` at `path`; false when something is there already. */
async function linkIfFree(target: string, path: string): Promise<boolean> {
  try {
    await link(target, path);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  }
}

async function stampOf(path: string): Promise<FileStamp> {
  const info = await lstat(path, { bigint: true });
  return { ino: info.ino, size: info.size, mtimeNs: info.mtimeNs, ctimeNs: info.ctimeNs };
}

function sameStamp(a: FileStamp, b: FileStamp): boolean {
  // ctime cannot be set back by the code, so an input rewritten with its old mtime still differs.
  return a.ino === b.ino && a.size === b.size && a.mtimeNs === b.mtimeNs && a.ctimeNs === b.ctimeNs;
}
