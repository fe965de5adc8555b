import type { ArtifactRef, ExecutionSnapshot } from '../domain/types';
import type { ExecutionStatus, TaskKind, TriggeredBy } from '../domain/status';

/**
 * The gateway's JSON answers, as far as the CLI and the web console read them (docs/API.md is the
 * contract). The execution's own shapes come from src/domain; the rest are written out here, since
 * both clients talk to the gateway over HTTP like any other and load none of its code.
 */

/** A file reference as the gateway answers it: with its download path. */
export type FileRef = ArtifactRef & { url?: string };

/** `GET /api/executions/:id`. */
export type Snapshot = ExecutionSnapshot & { links?: { temporalUi?: string } };

/** `202` of `POST /api/executions`, `POST /api/tasks/:slug/runs` and `POST …/retry`. */
export interface Started {
  id: string;
  status: ExecutionStatus;
  parentId?: string;
  task?: { slug: string; version: number };
}

/** One row of `GET /api/executions`. */
export interface ExecutionRow {
  id: string;
  status: ExecutionStatus;
  task: string | null;
  kind: TaskKind | null;
  triggeredBy: TriggeredBy | null;
  createdAt: string | null;
  completedAt: string | null;
}

export interface ExecutionPage {
  executions: ExecutionRow[];
  nextPageToken: string | null;
}

/** A named task, `GET /api/tasks/:slug`. */
export interface TaskView {
  slug: string;
  version: number;
  title: string;
  description: string;
  parameters: {
    properties: Record<
      string,
      { type: 'string' | 'number' | 'integer' | 'boolean'; description?: string; enum?: unknown[]; default?: unknown }
    >;
    required: string[];
  };
  code: string | null;
  plan: unknown;
  files: Array<{ name: string; size: number }>;
  createdAt: string;
  versions?: Array<{ version: number; createdAt: string }>;
}

/** A schedule of a named task. */
export interface ScheduleView {
  id: string;
  task: { slug: string; version: number | 'latest' };
  inputs: Record<string, unknown>;
  spec: { cron?: string; every?: string; timezone: string };
  overlap: string;
  paused: boolean;
  note: string | null;
  nextRuns: string[];
  recentRuns: Array<{ executionId: string; scheduledAt: string; startedAt: string }>;
  createdAt: string;
}

/** What the event stream's `end` event carries. */
export interface EndEvent {
  id: string;
  status: ExecutionStatus;
  error: ExecutionSnapshot['error'];
  result: ExecutionSnapshot['result'];
}

/** What the event stream's `update` event carries: the part of the snapshot that changed. */
export type UpdateEvent = Pick<
  ExecutionSnapshot,
  'id' | 'seq' | 'status' | 'progress' | 'awaiting' | 'metrics' | 'error' | 'timeline' | 'messages'
>;
