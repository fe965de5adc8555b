import type { Plan } from './types';

/**
 * Problems with a plan's structure that a schema cannot see: duplicate ids, unknown dependencies,
 * cycles. Empty when the plan is sound.
 */
export function planProblems(plan: Plan): string[] {
  const problems: string[] = [];
  const ids = new Set<string>();
  for (const step of plan.steps) {
    if (ids.has(step.id)) problems.push(`step id "${step.id}" is used twice`);
    ids.add(step.id);
  }
  for (const step of plan.steps) {
    for (const dependency of step.dependsOn) {
      if (!ids.has(dependency)) problems.push(`step "${step.id}" depends on unknown step "${dependency}"`);
      if (dependency === step.id) problems.push(`step "${step.id}" depends on itself`);
    }
  }
  if (problems.length === 0 && orderSteps(plan) === null) problems.push('the steps depend on each other in a cycle');
  return problems;
}

/** The steps in an order where every step comes after what it depends on, or null on a cycle. */
export function orderSteps(plan: Plan): Plan['steps'] | null {
  const byId = new Map(plan.steps.map((step) => [step.id, step]));
  const done = new Set<string>();
  const visiting = new Set<string>();
  const ordered: Plan['steps'] = [];
  const visit = (id: string): boolean => {
    if (done.has(id)) return true;
    if (visiting.has(id)) return false;
    visiting.add(id);
    const step = byId.get(id);
    if (step === undefined) return false;
    for (const dependency of step.dependsOn) if (!visit(dependency)) return false;
    visiting.delete(id);
    done.add(id);
    ordered.push(step);
    return true;
  };
  for (const step of plan.steps) if (!visit(step.id)) return null;
  return ordered;
}
