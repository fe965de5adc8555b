import type { Awaiting } from '../domain/types';
import { usageError } from './cli-error';

/** What `answer` was told: exactly one of approve, reject, text or code (a reason may go with reject). */
export interface AnswerFlags {
  approve?: boolean;
  reject?: boolean;
  text?: string;
  /** The code (its file's text once read; only its presence is checked before). */
  code?: string;
  budget?: number;
}

/**
 * Checks that the flags go together, whatever the question.
 * @throws CliError (usage) otherwise.
 */
export function checkAnswerFlags(flags: AnswerFlags): void {
  const chosen = [flags.approve, flags.reject, flags.code !== undefined].filter(Boolean).length;
  if (chosen > 1) throw usageError('give one of --approve, --reject and --code');
  if (chosen === 0 && flags.text === undefined)
    throw usageError('say --approve, --reject, --text "…" or --code <file>');
  if (flags.budget !== undefined && !flags.approve) throw usageError('--budget goes with --approve');
  if (flags.approve && flags.text !== undefined) throw usageError('--approve takes no --text');
  if (flags.code !== undefined && flags.text !== undefined) throw usageError('give --text or --code, not both');
}

/**
 * The body of `POST /api/executions/:id/input` for the question of `kind` (null when the execution
 * waits for none: the body is then the likeliest one, and the gateway's 409 says why it cannot be
 * taken).
 * @throws CliError (usage) for flags that do not fit together or do not fit the question.
 */
export function answerBody(kind: Awaiting['kind'] | null, flags: AnswerFlags): { approve?: boolean; input?: unknown } {
  checkAnswerFlags(flags);
  if (flags.approve) {
    if (kind === 'budget') {
      if (flags.budget === undefined) throw usageError('this question asks for a budget: --approve --budget <usd>');
      return { approve: true, input: { budgetUsd: flags.budget } };
    }
    if (flags.budget !== undefined)
      throw usageError(`--budget answers a budget question; this one is ${kind ?? 'none'}`);
    return { approve: true };
  }
  if (flags.reject) {
    // Only a rejected plan takes a reason; giving up on a step or a budget takes none.
    if (flags.text !== undefined && kind !== 'approval' && kind !== null) {
      throw usageError(`a reason goes with rejecting a plan; this question is ${kind}`);
    }
    return flags.text === undefined ? { approve: false } : { approve: false, input: flags.text };
  }
  if (kind === 'approval') throw usageError('this question is a plan approval: --approve, or --reject --text "why"');
  if (kind === 'budget') throw usageError('this question asks for a budget: --approve --budget <usd>, or --reject');
  // A recovery question (and the older kind `input`) takes a hint for the model, or code to run.
  return flags.code !== undefined ? { input: { code: flags.code } } : { input: { hint: flags.text } };
}
