import { answerProblem, readRecovery } from './questions';

describe('answers to an execution waiting for a person', () => {
  test('approval needs a yes or a no', () => {
    expect(answerProblem('approval', { approve: true }, true)).toBeNull();
    expect(answerProblem('approval', { approve: false, input: 'too risky' }, true)).toBeNull();
    expect(answerProblem('approval', { input: 'yes' }, true)).toContain('approve');
    expect(answerProblem('approval', { approve: 'yes' as unknown as boolean }, true)).toContain('true or false');
  });

  test('recovery takes a hint, code, or giving up', () => {
    expect(readRecovery({ input: { hint: ' use revenue ' } })).toEqual({ kind: 'hint', hint: 'use revenue' });
    expect(readRecovery({ input: 'use revenue' })).toEqual({ kind: 'hint', hint: 'use revenue' });
    expect(readRecovery({ input: { code: 'print(1)' } })).toEqual({ kind: 'code', code: 'print(1)' });
    expect(readRecovery({ approve: false })).toEqual({ kind: 'give_up' });
    expect(readRecovery({ input: { hint: '' } })).toBeNull();
    expect(answerProblem('recovery', { input: 42 }, true)).toContain('hint');
  });

  test('a hint is useless without a model', () => {
    expect(answerProblem('recovery', { input: { hint: 'x' } }, false)).toContain('no language model');
    expect(answerProblem('recovery', { input: { code: 'print(1)' } }, false)).toBeNull();
  });
});
