import type { ExecutionStatus } from './status';
import type { TimelineType } from './types';

/** What can happen to an execution. Each event names the state change it asks for. */
export type ExecutionEvent =
  | 'start' // a worker picked the execution up: it is being prepared (planning, checks)
  | 'run' // preparation is over: steps run
  | 'step' // a step starts while running (a self-transition, recorded on the timeline)
  | 'pause'
  | 'resume'
  | 'await_input'
  | 'input_received'
  | 'succeed'
  | 'fail'
  | 'cancel'
  | 'time_out';

export const EXECUTION_EVENTS: readonly ExecutionEvent[] = [
  'start',
  'run',
  'step',
  'pause',
  'resume',
  'await_input',
  'input_received',
  'succeed',
  'fail',
  'cancel',
  'time_out',
];

export type TransitionResult =
  | { ok: true; from: ExecutionStatus; to: ExecutionStatus }
  | { ok: false; from: ExecutionStatus; event: ExecutionEvent; reason: string };

type Table = { readonly [S in ExecutionStatus]: Partial<Record<ExecutionEvent, ExecutionStatus>> };

const ENDINGS = { cancel: 'cancelled', fail: 'failed', time_out: 'timed_out' } as const;

/**
 * The only allowed state changes. Anything not listed here is refused, by the workflow's
 * validators and signal handlers, and by the gateway (409).
 *
 * `starting` covers the preparation (planning, the check of given code): a plan approval is asked
 * from there, and a plan with nothing left to run (every step reused) succeeds from there.
 */
export const TRANSITIONS: Table = {
  queued: { start: 'starting', ...ENDINGS },
  starting: { run: 'running', await_input: 'awaiting_input', succeed: 'succeeded', ...ENDINGS },
  running: {
    step: 'running',
    pause: 'paused',
    await_input: 'awaiting_input',
    succeed: 'succeeded',
    ...ENDINGS,
  },
  paused: { resume: 'running', ...ENDINGS },
  awaiting_input: { input_received: 'running', ...ENDINGS },
  succeeded: {},
  failed: {},
  cancelled: {},
  timed_out: {},
};

/** How each event appears on the timeline: its type and the event name. */
export const EVENT_RECORDS: { readonly [E in ExecutionEvent]: { type: TimelineType; name: string } } = {
  start: { type: 'init', name: 'EXECUTION_STARTED' },
  run: { type: 'step', name: 'TASK_STARTED' },
  step: { type: 'step', name: 'TASK_STARTED' },
  pause: { type: 'pause', name: 'EXECUTION_PAUSED' },
  resume: { type: 'resume', name: 'EXECUTION_RESUMED' },
  await_input: { type: 'wait', name: 'EXECUTION_PAUSED' },
  input_received: { type: 'resume', name: 'EXECUTION_RESUMED' },
  succeed: { type: 'finish', name: 'EXECUTION_COMPLETED' },
  fail: { type: 'finish', name: 'EXECUTION_FAILED' },
  cancel: { type: 'cancelled', name: 'EXECUTION_CANCELLED' },
  time_out: { type: 'timeout', name: 'EXECUTION_FAILED' },
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
