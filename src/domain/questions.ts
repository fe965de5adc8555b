import type { Awaiting } from './types';

/** What a person may send to an execution waiting in `awaiting_input`. */
export interface Answer {
  approve?: boolean;
  input?: unknown;
}

/** A person's way out of a step that failed every attempt. */
export type Recovery = { kind: 'give_up' } | { kind: 'hint'; hint: string } | { kind: 'code'; code: string };

const MAX_HINT_CHARS = 4000;
const MAX_CODE_CHARS = 200_000;

/** The raised budget in a budget answer, or null when there is none. */
export function readBudget(answer: Answer): number | null {
  if (answer.approve !== true || typeof answer.input !== 'object' || answer.input === null) return null;
  const value = (answer.input as { budgetUsd?: unknown }).budgetUsd;
  return typeof value === 'number' && Number.isFinite(value) && value > 0 ? value : null;
}

/** Reads a recovery answer; null when it is not one. */
export function readRecovery(answer: Answer): Recovery | null {
  if (answer.approve === false) return { kind: 'give_up' };
  const input = answer.input;
  if (typeof input === 'string' && input.trim() !== '') return { kind: 'hint', hint: input.trim() };
  if (typeof input !== 'object' || input === null) return null;
  const { hint, code } = input as { hint?: unknown; code?: unknown };
  if (typeof code === 'string' && code.trim() !== '') return { kind: 'code', code };
  if (typeof hint === 'string' && hint.trim() !== '') return { kind: 'hint', hint: hint.trim() };
  return null;
}

/**
 * Why `answer` does not answer a question of `kind`, or null when it does. Pure, so the workflow's
 * update validator and the gateway give the same verdict.
 */
export function answerProblem(kind: Awaiting['kind'], answer: Answer, modelAvailable: boolean): string | null {
  if (answer.approve !== undefined && typeof answer.approve !== 'boolean') return '"approve" must be true or false';
  switch (kind) {
    case 'approval':
      return typeof answer.approve === 'boolean' ? null : 'send {"approve": true} or {"approve": false}';
    case 'budget':
      if (answer.approve === false) return null;
      return readBudget(answer) === null
        ? 'send {"approve": true, "input": {"budgetUsd": <new budget>}} to raise the budget, or {"approve": false} to stop'
        : null;
    case 'recovery':
    case 'input': {
      const recovery = readRecovery(answer);
      if (recovery === null) {
        return 'send {"input": {"hint": "…"}}, {"input": {"code": "…"}} or {"approve": false} to give up';
      }
      if (recovery.kind === 'hint' && recovery.hint.length > MAX_HINT_CHARS) return 'the hint is too long';
      if (recovery.kind === 'code' && recovery.code.length > MAX_CODE_CHARS) return 'the code is too long';
      if (recovery.kind === 'hint' && !modelAvailable) {
        return 'no language model is configured to use a hint: send {"input": {"code": "…"}} instead';
      }
      return null;
    }
    default: {
      const unreachable: never = kind;
      return `unknown question ${String(unreachable)}`;
    }
  }
}
