import {
  DEFAULT_RECOVERY,
  RECOVERABLE_ERRORS,
  REGENERATE_HINTS,
  isRecoverable,
  strategyFor,
} from '../../src/domain/recovery';

describe('recovery policies', () => {
  test('the recoverable errors are the failures of an attempt, not of the service', () => {
    for (const code of RECOVERABLE_ERRORS) expect(isRecoverable(code)).toBe(true);
    for (const code of ['LLM_ERROR', 'TIMED_OUT', 'CANCELLED', 'code_error', ''])
      expect(isRecoverable(code)).toBe(false);
  });

  test('by default every recoverable error is answered by regenerating, with a hint of its own', () => {
    for (const code of RECOVERABLE_ERRORS) {
      expect(DEFAULT_RECOVERY[code]).toEqual({ strategy: 'regenerate' });
      expect(REGENERATE_HINTS[code].length).toBeGreaterThan(20);
    }
    expect(new Set(RECOVERABLE_ERRORS.map((code) => REGENERATE_HINTS[code])).size).toBe(RECOVERABLE_ERRORS.length);
  });

  test("a step's own strategy beats the execution's, which beats the default", () => {
    const step = { CODE_ERROR: { strategy: 'abort' as const } };
    const execution = { CODE_ERROR: { strategy: 'skip' as const }, SANDBOX_TIMEOUT: { strategy: 'retry' as const } };
    expect(strategyFor('CODE_ERROR', step, execution)).toEqual({ strategy: 'abort' });
    expect(strategyFor('SANDBOX_TIMEOUT', step, execution)).toEqual({ strategy: 'retry' });
    expect(strategyFor('OUTPUT_LIMIT', step, execution)).toEqual({ strategy: 'regenerate' });
    expect(strategyFor('CODE_ERROR', undefined, undefined)).toEqual({ strategy: 'regenerate' });
    expect(strategyFor('CODE_ERROR', undefined, execution)).toEqual({ strategy: 'skip' });
  });
});
