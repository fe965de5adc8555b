import { answerBody } from './answers';

describe('the body of an answer', () => {
  test('a plan approval takes approve or reject, with a reason', () => {
    expect(answerBody('approval', { approve: true })).toEqual({ approve: true });
    expect(answerBody('approval', { reject: true })).toEqual({ approve: false });
    expect(answerBody('approval', { reject: true, text: 'too risky' })).toEqual({ approve: false, input: 'too risky' });
    expect(() => answerBody('approval', { text: 'ok' })).toThrow('plan approval');
  });

  test('a recovery question takes a hint, code, or giving up', () => {
    expect(answerBody('recovery', { text: 'the column is revenue' })).toEqual({
      input: { hint: 'the column is revenue' },
    });
    expect(answerBody('recovery', { code: "print('fixed')" })).toEqual({ input: { code: "print('fixed')" } });
    expect(answerBody('recovery', { reject: true })).toEqual({ approve: false });
    expect(() => answerBody('recovery', { reject: true, text: 'why' })).toThrow('rejecting a plan');
  });

  test('a budget question takes a raise or a stop', () => {
    expect(answerBody('budget', { approve: true, budget: 2.5 })).toEqual({ approve: true, input: { budgetUsd: 2.5 } });
    expect(answerBody('budget', { reject: true })).toEqual({ approve: false });
    expect(() => answerBody('budget', { approve: true })).toThrow('--budget');
    expect(() => answerBody('approval', { approve: true, budget: 2 })).toThrow('budget question');
  });

  test('flags that do not go together are refused whatever the question', () => {
    expect(() => answerBody(null, {})).toThrow('say --approve');
    expect(() => answerBody(null, { approve: true, reject: true })).toThrow('one of');
    expect(() => answerBody(null, { text: 'a', code: 'b' })).toThrow('not both');
    expect(() => answerBody(null, { reject: true, budget: 1 })).toThrow('--budget goes with --approve');
  });

  test('with no question waiting, the likeliest body is sent for the gateway to refuse', () => {
    expect(answerBody(null, { approve: true })).toEqual({ approve: true });
    expect(answerBody(null, { text: 'hint' })).toEqual({ input: { hint: 'hint' } });
  });
});
