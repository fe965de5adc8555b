import { z } from 'zod';
import { planProblems } from './plan-graph';
import type { Plan } from './types';

const STEP_ID = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;

export const planStepSchema = z.object({
  id: z.string().regex(STEP_ID, 'step ids are 1-64 letters, digits, "_" or "-"'),
  title: z.string().min(1).max(200),
  description: z.string().max(4000).default(''),
  dependsOn: z.array(z.string()).max(50).default([]),
});

export const planSchema = z.object({ steps: z.array(planStepSchema).min(1).max(20) });

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
