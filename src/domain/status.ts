/** Every state an execution can be in. */
export const EXECUTION_STATUSES = [
  'queued',
  'starting',
  'running',
  'paused',
  'awaiting_input',
  'succeeded',
  'failed',
  'cancelled',
  'timed_out',
] as const;

export type ExecutionStatus = (typeof EXECUTION_STATUSES)[number];

export const TERMINAL_STATUSES: readonly ExecutionStatus[] = ['succeeded', 'failed', 'cancelled', 'timed_out'];

/** A terminal execution never changes again. */
export function isTerminal(status: ExecutionStatus): boolean {
  return TERMINAL_STATUSES.includes(status);
}

/** An active execution is one a worker is, or will soon be, working on. */
export function isActive(status: ExecutionStatus): boolean {
  return !isTerminal(status);
}

export function isExecutionStatus(value: unknown): value is ExecutionStatus {
  return typeof value === 'string' && (EXECUTION_STATUSES as readonly string[]).includes(value);
}

export const TRIGGERS = ['user', 'api', 'schedule', 'webhook'] as const;
export type TriggeredBy = (typeof TRIGGERS)[number];

/** What the caller handed in: a task for the model, a ready plan, or ready code. */
export type TaskKind = 'task' | 'plan' | 'code';
