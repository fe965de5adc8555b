import {
  EXECUTION_STATUSES,
  TERMINAL_STATUSES,
  isActive,
  isExecutionStatus,
  isTerminal,
} from '../../src/domain/status';

describe('execution statuses', () => {
  test('exactly succeeded, failed, cancelled and timed_out are terminal; every other status is active', () => {
    for (const status of EXECUTION_STATUSES) {
      const terminal = ['succeeded', 'failed', 'cancelled', 'timed_out'].includes(status);
      expect(isTerminal(status)).toBe(terminal);
      expect(isActive(status)).toBe(!terminal);
    }
    expect([...TERMINAL_STATUSES].sort()).toEqual(['cancelled', 'failed', 'succeeded', 'timed_out']);
  });

  test('isExecutionStatus accepts the listed statuses only, and only strings', () => {
    for (const status of EXECUTION_STATUSES) expect(isExecutionStatus(status)).toBe(true);
    for (const value of ['done', 'RUNNING', '', null, undefined, 3, { status: 'queued' }]) {
      expect(isExecutionStatus(value)).toBe(false);
    }
  });
});
