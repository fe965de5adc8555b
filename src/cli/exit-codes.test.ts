import { EXIT, exitCodeForEndState, exitCodeForHttpStatus } from './exit-codes';

describe('exit codes', () => {
  test('each end state has its own code, and only success is 0', () => {
    const codes = (['succeeded', 'failed', 'cancelled', 'timed_out'] as const).map(exitCodeForEndState);
    expect(codes).toEqual([0, 10, 11, 12]);
  });

  test.each([
    [401, EXIT.AUTH],
    [403, EXIT.AUTH],
    [404, EXIT.NOT_FOUND],
    [409, EXIT.CONFLICT],
    [400, EXIT.REJECTED],
    [413, EXIT.REJECTED],
    [415, EXIT.REJECTED],
    [422, EXIT.REJECTED],
    [429, EXIT.UNAVAILABLE],
    [503, EXIT.UNAVAILABLE],
    [500, EXIT.ERROR],
    [502, EXIT.ERROR],
  ])('HTTP %i exits %i', (status, code) => {
    expect(exitCodeForHttpStatus(status)).toBe(code);
  });

  test('no two meanings share a code', () => {
    const values = Object.values(EXIT);
    expect(new Set(values).size).toBe(values.length);
  });
});
