import type { StepCheckpoint, StepStatus } from './types';

/**
 * Most bytes of JSON (UTF-8) the `variables` of one checkpoint carry. The finished steps' values go
 * in in the order the steps finished; a step whose values would pass the bound is left out whole
 * and named in `metadata.omittedVariables` (its values stay in its attempt's `results`).
 */
export const MAX_CHECKPOINT_VARIABLES_BYTES = 64 * 1024;

/** On-demand checkpoints one run takes; past it a request is refused (each one grows the history). */
export const MAX_ON_DEMAND_CHECKPOINTS = 100;

/** Why a checkpoint was made: a step finished, a step was taken over from a checkpoint, or someone asked. */
export type CheckpointReason = 'step_finished' | 'step_reused' | 'on_demand';

/** What a finished step published: the value of its trailing expression and its `ml.json` values. */
export interface StepVariables {
  result?: unknown;
  json?: unknown[];
}

export interface TaskState {
  status: StepStatus;
  /** Attempts made so far (a reused step counts one). */
  attempts: number;
}

export interface CheckpointState {
  /** The step that had just finished (step checkpoints), or the one in progress (on demand); null between steps. */
  currentTaskId: string | null;
  /** The steps finished by then, in the order they finished: what a restore reuses. */
  completedTasks: string[];
  taskStates: Record<string, TaskState>;
  /** By step id, bounded by MAX_CHECKPOINT_VARIABLES_BYTES. */
  variables: Record<string, StepVariables>;
}

export interface CheckpointMetadata {
  reason: CheckpointReason;
  /** The run of the execution that made it: 1, then one more for each restore. */
  run: number;
  /** The step of a `step_finished` or `step_reused` checkpoint, and its successful attempt. */
  stepId?: string;
  attempt?: number;
  /** The key that asked for an on-demand checkpoint. */
  by?: string;
  /** The checkpoint a reused step was taken over from. */
  restoredFrom?: string;
  /** The bytes of JSON `state.variables` takes. */
  variablesBytes: number;
  /** Steps whose values did not fit the bound. */
  omittedVariables?: string[];
}

/** The state of an execution at a point it can be restored from (the seed's `Checkpoint`). */
export interface Checkpoint {
  /** `cp-<run>.<n>`: the n-th checkpoint of the execution's run; unique within the execution. */
  id: string;
  executionId: string;
  timestamp: string;
  state: CheckpointState;
  metadata: CheckpointMetadata;
}

/** The answer of the workflow's `checkpointList` query. */
export interface CheckpointList {
  checkpoints: Checkpoint[];
  /** The finished steps' code, output and files, which the checkpoints' `completedTasks` name. */
  steps: StepCheckpoint[];
}

export function checkpointId(run: number, n: number): string {
  return `cp-${run}.${n}`;
}

/** What one finished step published, or null when it published nothing. */
export function stepVariables(step: StepCheckpoint): StepVariables | null {
  const variables: StepVariables = {};
  const main = step.results.find((result) => result.isMainResult);
  if (main !== undefined && (main.json !== undefined || main.text !== undefined)) {
    variables.result = main.json ?? main.text;
  }
  const json = step.results.filter((result) => !result.isMainResult && result.json !== undefined);
  if (json.length > 0) variables.json = json.map((result) => result.json);
  return variables.result === undefined && variables.json === undefined ? null : variables;
}

/**
 * The variables of the finished steps `steps`, in order, within `maxBytes` of JSON: each step's
 * values whole or not at all. Pure.
 */
export function boundedVariables(
  steps: StepCheckpoint[],
  maxBytes = MAX_CHECKPOINT_VARIABLES_BYTES,
): { variables: Record<string, StepVariables>; bytes: number; omitted: string[] } {
  const variables: Record<string, StepVariables> = {};
  const omitted: string[] = [];
  // `{}` to start with; each entry adds `"id":value` and a comma after the first.
  let bytes = 2;
  for (const step of steps) {
    const values = stepVariables(step);
    if (values === null) continue;
    const entry = utf8Length(JSON.stringify(step.stepId)) + 1 + utf8Length(JSON.stringify(values));
    const added = entry + (Object.keys(variables).length > 0 ? 1 : 0);
    if (bytes + added > maxBytes) {
      omitted.push(step.stepId);
      continue;
    }
    variables[step.stepId] = values;
    bytes += added;
  }
  return { variables, bytes, omitted };
}

/** The UTF-8 length of a string, without Node's Buffer (this runs inside the workflow too). */
export function utf8Length(text: string): number {
  let length = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x80) length += 1;
    else if (code < 0x800) length += 2;
    else if (code >= 0xd800 && code <= 0xdbff && i + 1 < text.length) {
      length += 4;
      i++;
    } else length += 3;
  }
  return length;
}
