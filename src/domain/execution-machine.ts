import type { ExecutionStatus } from './status';

/** What can happen to an execution. Each event names the state change it asks for. */
export type ExecutionEvent =
  | 'start' // a worker picked the execution up
  | 'run' // work begins
  | 'pause'
  | 'resume'
  | 'await_input'
  | 'input_received'
  | 'succeed'
  | 'fail'
  | 'cancel'
  | 'time_out';

export type TransitionResult =
  | { ok: true; from: ExecutionStatus; to: ExecutionStatus }
  | { ok: false; from: ExecutionStatus; event: ExecutionEvent; reason: string };

type Table = { readonly [S in ExecutionStatus]: Partial<Record<ExecutionEvent, ExecutionStatus>> };

const ENDINGS = { cancel: 'cancelled', fail: 'failed', time_out: 'timed_out' } as const;

/**
 * The only allowed state changes. Anything not listed here is refused, by the workflow's
 * validators and by the gateway (409).
 */
export const TRANSITIONS: Table = {
  queued: { start: 'starting', ...ENDINGS },
  starting: { run: 'running', ...ENDINGS },
  running: { pause: 'paused', await_input: 'awaiting_input', succeed: 'succeeded', ...ENDINGS },
  paused: { resume: 'running', ...ENDINGS },
  awaiting_input: { input_received: 'running', ...ENDINGS },
  succeeded: {},
  failed: {},
  cancelled: {},
  timed_out: {},
};

/** Applies `event` to `state`: the new state, or a refusal saying why not. Pure. */
export function transition(state: ExecutionStatus, event: ExecutionEvent): TransitionResult {
  const to = TRANSITIONS[state][event];
  if (to === undefined) {
    return { ok: false, from: state, event, reason: `cannot ${event.replace('_', ' ')} an execution that is ${state}` };
  }
  return { ok: true, from: state, to };
}

/** True when the table allows `event` in `state`. */
export function can(state: ExecutionStatus, event: ExecutionEvent): boolean {
  return TRANSITIONS[state][event] !== undefined;
}
