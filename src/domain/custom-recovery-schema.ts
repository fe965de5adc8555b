/**
 * What a tenant registers, or an execution carries, as a recovery strategy of its own. Kept apart
 * from the decision (custom-recovery.ts) so that the workflow bundle does not take zod in.
 */
import { z } from 'zod';
import { CUSTOM_ACTIONS, CUSTOM_ERRORS, MATCH_PATTERN_CHARS } from './custom-recovery';

const patternSchema = z
  .string()
  .min(1)
  .max(MATCH_PATTERN_CHARS)
  .refine(
    (pattern) => {
      try {
        new RegExp(pattern);
        return true;
      } catch {
        return false;
      }
    },
    { message: 'not a valid regular expression' },
  )
  // A quantified group that is itself quantified, such as (a+)+, can take exponential time on a long message.
  .refine((pattern) => !/\([^()]*[*+][^()]*\)[*+{]/.test(pattern), {
    message: 'a quantified group inside a quantified group is refused: it can take exponential time',
  });

export const customStrategySchema = z
  .object({
    id: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,63}$/, 'an id: 1-64 lower-case letters, digits, "_" or "-"'),
    name: z.string().trim().min(1).max(200),
    description: z.string().max(2000).default(''),
    applicableErrors: z.array(z.enum(CUSTOM_ERRORS)).min(1).max(CUSTOM_ERRORS.length),
    match: patternSchema.optional(),
    action: z.enum(CUSTOM_ACTIONS),
    /** How many times the strategy may act in one step; after that the next strategy decides. */
    maxRetries: z.number().int().min(1).max(10).default(1),
    backoff: z
      .object({
        initialMs: z.number().int().min(0).max(600_000).default(1000),
        multiplier: z.number().min(1).max(10).default(2),
        maxMs: z
          .number()
          .int()
          .min(0)
          .max(3600 * 1000)
          .default(300_000),
      })
      .strict()
      .default({ initialMs: 1000, multiplier: 2, maxMs: 300_000 }),
    fallback: z
      .object({ code: z.string().min(1).max(100_000).optional(), model: z.string().min(1).max(200).optional() })
      .strict()
      .refine((fallback) => fallback.code !== undefined || fallback.model !== undefined, {
        message: 'a fallback names `code`, `model` or both',
      })
      .optional(),
  })
  .strict()
  .refine((strategy) => strategy.action !== 'FALLBACK' || strategy.fallback !== undefined, {
    message: 'a FALLBACK strategy needs `fallback: {code?, model?}`',
    path: ['fallback'],
  });

export type CustomStrategy = z.output<typeof customStrategySchema>;
