import type { Plan, PlanStep } from './types';

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

/** Every step `stepId` depends on, directly or through other steps (not the step itself). */
export function ancestorsOf(plan: Plan, stepId: string): Set<string> {
  const byId = new Map(plan.steps.map((step) => [step.id, step]));
  const seen = new Set<string>();
  const pending = [...(byId.get(stepId)?.dependsOn ?? [])];
  for (let id = pending.pop(); id !== undefined; id = pending.pop()) {
    if (seen.has(id)) continue;
    seen.add(id);
    pending.push(...(byId.get(id)?.dependsOn ?? []));
  }
  return seen;
}

/** `stepId` and every step that depends on it, directly or through other steps. */
export function dependentsOf(plan: Plan, stepId: string): Set<string> {
  const result = new Set([stepId]);
  for (const step of orderSteps(plan) ?? plan.steps) {
    if (step.dependsOn.some((dependency) => result.has(dependency))) result.add(step.id);
  }
  return result;
}

/** Whether `step` may start now: not done, not running, and every step it depends on done. */
export function isReady(
  step: PlanStep,
  done: { has(stepId: string): boolean },
  running: { has(stepId: string): boolean },
): boolean {
  return !done.has(step.id) && !running.has(step.id) && step.dependsOn.every((dependency) => done.has(dependency));
}

/**
 * The files a step starts with: the uploaded files, then what its ancestors wrote, in plan order,
 * a later file replacing an earlier one of the same name.
 */
export function inputsOf<F extends { name: string }>(
  plan: Plan,
  stepId: string,
  uploaded: readonly F[],
  produced: ReadonlyMap<string, readonly F[]>,
): F[] {
  const files = new Map(uploaded.map((file) => [file.name, file]));
  const ancestors = ancestorsOf(plan, stepId);
  for (const earlier of orderSteps(plan) ?? plan.steps) {
    if (!ancestors.has(earlier.id)) continue;
    for (const file of produced.get(earlier.id) ?? []) files.set(file.name, file);
  }
  return [...files.values()];
}
