import { z } from 'zod';
import { planProblems } from './plan-graph';
import type { Plan } from './types';

const STEP_ID = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;

const strategySchema = z.discriminatedUnion('strategy', [
  z.object({ strategy: z.literal('regenerate') }).strict(),
  z
    .object({
      strategy: z.literal('retry'),
      maxRetries: z.number().int().min(1).max(10).optional(),
      backoffMs: z.number().int().min(0).max(600_000).optional(),
    })
    .strict(),
  z.object({ strategy: z.literal('restore') }).strict(),
  z
    .object({
      strategy: z.literal('fallback'),
      model: z.string().min(1).max(200).optional(),
      code: z.string().min(1).max(200_000).optional(),
    })
    .strict()
    .refine((value) => value.model !== undefined || value.code !== undefined, 'a fallback needs a model or code'),
  z.object({ strategy: z.literal('skip'), dependents: z.enum(['skip', 'run']).optional() }).strict(),
  z.object({ strategy: z.literal('ask') }).strict(),
  z.object({ strategy: z.literal('abort') }).strict(),
]);

/** Recovery strategies per error code, as a caller may set them on an execution or a step. */
export const recoveryPolicySchema = z
  .object({
    CODE_ERROR: strategySchema.optional(),
    SANDBOX_TIMEOUT: strategySchema.optional(),
    RESOURCE_EXHAUSTED: strategySchema.optional(),
    OUTPUT_LIMIT: strategySchema.optional(),
    VALIDATION_ERROR: strategySchema.optional(),
  })
  .strict();

export const planStepSchema = z.object({
  id: z.string().regex(STEP_ID, 'step ids are 1-64 letters, digits, "_" or "-"'),
  title: z.string().min(1).max(200),
  description: z.string().max(4000).default(''),
  dependsOn: z.array(z.string()).max(50).default([]),
  recovery: recoveryPolicySchema.optional(),
});

export const planSchema = z.object({ steps: z.array(planStepSchema).min(1).max(20) });

/**
 * What the model is asked to answer when planning, as the JSON schema of a structured output:
 * every field required and nothing else allowed, as strict schemas must be. Its answer is then
 * checked against `planSchema` and the graph rules like any other plan.
 */
export const planReplySchema = z
  .object({
    steps: z
      .array(
        z
          .object({
            id: z.string().regex(STEP_ID),
            title: z.string(),
            description: z.string(),
            dependsOn: z.array(z.string()),
          })
          .strict(),
      )
      .min(1)
      .max(20),
  })
  .strict();

/** Parses and checks a plan from untrusted JSON: the plan, or the list of what is wrong. */
export function parsePlan(value: unknown): { ok: true; plan: Plan } | { ok: false; problems: string[] } {
  const parsed = planSchema.safeParse(value);
  if (!parsed.success) {
    return {
      ok: false,
      problems: parsed.error.issues.map((issue) => `${issue.path.join('.') || 'plan'}: ${issue.message}`),
    };
  }
  const problems = planProblems(parsed.data);
  return problems.length === 0 ? { ok: true, plan: parsed.data } : { ok: false, problems };
}
