import { can, transition, TRANSITIONS, type ExecutionEvent } from './execution-machine';
import { EXECUTION_STATUSES, isTerminal, TERMINAL_STATUSES } from './status';

const EVENTS: ExecutionEvent[] = [
  'start',
  'run',
  'pause',
  'resume',
  'await_input',
  'input_received',
  'succeed',
  'fail',
  'cancel',
  'time_out',
];

describe('execution state machine', () => {
  test.each([
    ['queued', 'start', 'starting'],
    ['starting', 'run', 'running'],
    ['running', 'pause', 'paused'],
    ['paused', 'resume', 'running'],
    ['running', 'await_input', 'awaiting_input'],
    ['awaiting_input', 'input_received', 'running'],
    ['running', 'succeed', 'succeeded'],
    ['running', 'fail', 'failed'],
    ['paused', 'cancel', 'cancelled'],
    ['awaiting_input', 'time_out', 'timed_out'],
    ['queued', 'cancel', 'cancelled'],
  ] as const)('%s --%s--> %s', (from, event, to) => {
    expect(transition(from, event)).toEqual({ ok: true, from, to });
  });

  test.each([
    ['queued', 'succeed'],
    ['paused', 'pause'],
    ['running', 'resume'],
    ['paused', 'succeed'],
    ['awaiting_input', 'pause'],
    ['starting', 'pause'],
  ] as const)('refuses %s --%s-->', (from, event) => {
    const result = transition(from, event);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.reason).toContain(from);
  });

  test('terminal states accept nothing', () => {
    for (const status of TERMINAL_STATUSES) {
      expect(isTerminal(status)).toBe(true);
      for (const event of EVENTS) expect(can(status, event)).toBe(false);
    }
  });

  test('every active state can be cancelled, failed and timed out', () => {
    for (const status of EXECUTION_STATUSES.filter((s) => !isTerminal(s))) {
      expect(TRANSITIONS[status].cancel).toBe('cancelled');
      expect(TRANSITIONS[status].fail).toBe('failed');
      expect(TRANSITIONS[status].time_out).toBe('timed_out');
    }
  });

  test('only running can succeed', () => {
    const succeeding = EXECUTION_STATUSES.filter((status) => can(status, 'succeed'));
    expect(succeeding).toEqual(['running']);
  });
});
