import { Context } from '@temporalio/activity';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import {
  describeProfile,
  summarizeProfile,
  type DataProfile,
  type FileProfile,
  type FileProfileSummary,
} from '../domain/data-profile';
import type { SandboxKind } from '../domain/sandbox-kinds';
import type { ArtifactRef } from '../domain/types';
import type { Sandbox, SandboxInputFile } from '../sandbox/types';
import { sandboxFailure, sandboxOf } from './sandbox-failures';
import { ArtifactNotFoundError, type ArtifactStore } from '../storage/artifact-store';

const PROFILER = readFileSync(path.join(__dirname, '..', 'sandbox', 'profile.py'), 'utf8');
/** The profiler's output file in the sandbox's working directory: a name no upload can have. */
const OUTPUT_NAME = '.data-profile.json';
const PROFILE_TIMEOUT_MS = 60_000;
const HEARTBEAT_MS = 1000;

export interface ProfileInput {
  executionId: string;
  files: ArtifactRef[];
  sandbox: SandboxKind;
}

export interface ProfileDeps {
  sandboxes: Partial<Record<SandboxKind, Sandbox>>;
  store: ArtifactStore;
  workRoot: string;
}

/** The profiler with the names filled in (JSON strings and lists are Python literals too). */
function profilerFor(names: string[]): string {
  return PROFILER.replace('__OUTPUT_NAME__', JSON.stringify(OUTPUT_NAME)).replace('__FILES__', JSON.stringify(names));
}

export function createProfileActivities(deps: ProfileDeps) {
  return {
    /**
     * Profiles the uploaded files inside the sandbox (never on the host: they are the caller's
     * data): stores the whole profile as an artifact and returns what the snapshot shows. A run
     * that fails describes every file as unread, so the prompts fall back to the files' first lines.
     */
    async profileFiles(input: ProfileInput): Promise<DataProfile> {
      const sandbox = sandboxOf(deps.sandboxes, input.sandbox);
      const context = Context.current();
      const files: SandboxInputFile[] = input.files.map((file) => ({
        name: file.name,
        open: () => deps.store.readStream(input.executionId, file.key),
      }));
      await mkdir(deps.workRoot, { recursive: true });
      const outputDir = await mkdtemp(path.join(deps.workRoot, 'profile-'));
      const heartbeat = setInterval(() => context.heartbeat(), HEARTBEAT_MS);
      try {
        let execution;
        try {
          execution = await sandbox.run({
            runId: `${input.executionId}-profile-${randomUUID().slice(0, 8)}`,
            code: profilerFor(input.files.map((file) => file.name)),
            files,
            outputDir,
            timeoutMs: PROFILE_TIMEOUT_MS,
            signal: context.cancellationSignal,
            executionId: input.executionId,
          });
        } catch (error) {
          throw sandboxFailure(error);
        }
        const written = execution.files.find((file) => file.name === OUTPUT_NAME);
        if (execution.failure !== null || execution.error !== null || !written) {
          const why = execution.error
            ? `${execution.error.name}: ${execution.error.value}`
            : (execution.failure ?? 'it wrote no profile');
          context.log.warn('the data files could not be profiled', { why });
          return unread(input.files, `the sandbox could not profile the files (${why})`);
        }
        const profiles = (JSON.parse(await readFile(written.path, 'utf8')) as { files: FileProfile[] }).files;
        const artifact = await deps.store.put(
          input.executionId,
          'profile',
          'profile.json',
          Buffer.from(JSON.stringify({ files: profiles }, null, 2)),
        );
        return { artifact, files: profiles.map(summarizeProfile) };
      } finally {
        clearInterval(heartbeat);
        await rm(outputDir, { recursive: true, force: true });
      }
    },
  };
}

function unread(files: ArtifactRef[], error: string): DataProfile {
  const summaries: FileProfileSummary[] = files.map((file) => ({
    name: file.name,
    size: file.size,
    format: null,
    error,
  }));
  return { artifact: null, files: summaries };
}

/** What the prompts quote of each profiled file, by name; empty when there is no profile. */
export async function profileTexts(
  store: ArtifactStore,
  executionId: string,
  profile: ArtifactRef | undefined,
): Promise<Map<string, string>> {
  if (!profile) return new Map();
  let text: string;
  try {
    text = (await store.read(executionId, profile.key)).toString('utf8');
  } catch (error) {
    if (error instanceof ArtifactNotFoundError) return new Map();
    throw error;
  }
  const profiles = (JSON.parse(text) as { files: FileProfile[] }).files;
  return new Map(profiles.map((file) => [file.name, describeProfile(file)]));
}
