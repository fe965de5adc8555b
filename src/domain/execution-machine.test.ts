import { can, EVENT_RECORDS, EXECUTION_EVENTS, transition, TRANSITIONS } from './execution-machine';
import { EXECUTION_STATUSES, isTerminal, TERMINAL_STATUSES, type ExecutionStatus } from './status';

/** The whole table, written out once more by hand: any change to the module must change this too. */
const EXPECTED: Record<ExecutionStatus, string[]> = {
  queued: ['start→starting', 'cancel→cancelled', 'fail→failed', 'time_out→timed_out'],
  starting: [
    'run→running',
    'await_input→awaiting_input',
    'succeed→succeeded',
    'cancel→cancelled',
    'fail→failed',
    'time_out→timed_out',
  ],
  running: [
    'step→running',
    'pause→paused',
    'await_input→awaiting_input',
    'succeed→succeeded',
    'cancel→cancelled',
    'fail→failed',
    'time_out→timed_out',
  ],
  paused: ['resume→running', 'cancel→cancelled', 'fail→failed', 'time_out→timed_out'],
  awaiting_input: ['input_received→running', 'cancel→cancelled', 'fail→failed', 'time_out→timed_out'],
  succeeded: [],
  failed: [],
  cancelled: [],
  timed_out: [],
};

describe('execution state machine', () => {
  test.each(EXECUTION_STATUSES.flatMap((from) => EXECUTION_EVENTS.map((event) => [from, event] as const)))(
    '%s --%s--> as the table says',
    (from, event) => {
      const allowed = EXPECTED[from].find((entry) => entry.startsWith(`${event}→`));
      const result = transition(from, event);
      if (allowed === undefined) {
        expect(result).toEqual({ ok: false, from, event, reason: expect.stringContaining(from) });
        expect(can(from, event)).toBe(false);
      } else {
        expect(result).toEqual({ ok: true, from, to: allowed.split('→')[1] });
        expect(can(from, event)).toBe(true);
      }
    },
  );

  test('the table lists nothing beyond the expected transitions', () => {
    for (const status of EXECUTION_STATUSES) {
      const listed = Object.entries(TRANSITIONS[status]).map(([event, to]) => `${event}→${to}`);
      expect(listed.sort()).toEqual([...EXPECTED[status]].sort());
    }
  });

  test('terminal states accept nothing', () => {
    for (const status of TERMINAL_STATUSES) {
      expect(isTerminal(status)).toBe(true);
      for (const event of EXECUTION_EVENTS) expect(can(status, event)).toBe(false);
    }
  });

  test('a refusal says what was asked and of what state', () => {
    expect(transition('starting', 'pause')).toEqual({
      ok: false,
      from: 'starting',
      event: 'pause',
      reason: 'cannot pause an execution that is starting',
    });
    expect(transition('paused', 'input_received')).toMatchObject({
      reason: 'cannot input received an execution that is paused',
    });
  });

  test('every event has its timeline type and name', () => {
    expect(Object.keys(EVENT_RECORDS).sort()).toEqual([...EXECUTION_EVENTS].sort());
    expect(EVENT_RECORDS.await_input).toEqual({ type: 'wait', name: 'EXECUTION_PAUSED' });
    expect(EVENT_RECORDS.time_out).toEqual({ type: 'timeout', name: 'EXECUTION_FAILED' });
    expect(EVENT_RECORDS.step).toEqual({ type: 'step', name: 'TASK_STARTED' });
  });
});
