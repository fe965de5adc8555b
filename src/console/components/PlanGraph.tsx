import type { Plan, StepState } from '../../domain/types';
import { StatusBadge } from './StatusBadge';

/** Each step's depth: 0 without dependencies, else one more than the deepest step it depends on. */
function levels(plan: Plan): string[][] {
  const depth = new Map<string, number>();
  const byId = new Map(plan.steps.map((step) => [step.id, step]));
  const depthOf = (id: string, seen: Set<string>): number => {
    const known = depth.get(id);
    if (known !== undefined) return known;
    const step = byId.get(id);
    if (!step || seen.has(id)) return 0;
    seen.add(id);
    const value = step.dependsOn.length === 0 ? 0 : 1 + Math.max(...step.dependsOn.map((dep) => depthOf(dep, seen)));
    depth.set(id, value);
    return value;
  };
  const columns: string[][] = [];
  for (const step of plan.steps) (columns[depthOf(step.id, new Set())] ??= []).push(step.id);
  return columns.filter((column) => column !== undefined);
}

/**
 * The plan as a graph: a column per depth, so that a step stands right of what it depends on; each
 * box names its state and what it waits for. Steps in one column can run side by side.
 */
export function PlanGraph({ plan, steps }: { plan: Plan; steps: StepState[] }) {
  const states = new Map(steps.map((step) => [step.id, step.status]));
  const byId = new Map(plan.steps.map((step) => [step.id, step]));
  return (
    <ol className="plan-graph" aria-label="Plan: steps in the order they can run">
      {levels(plan).map((column, index) => (
        <li key={index} className="plan-column">
          <ol>
            {column.map((id) => {
              const step = byId.get(id)!;
              const status = states.get(id) ?? 'pending';
              return (
                <li key={id} className={`plan-step plan-step-${status}`}>
                  <a href={`#step-${id}`}>{step.title || id}</a>
                  <StatusBadge status={status} />
                  {step.dependsOn.length > 0 && <span className="muted small">after {step.dependsOn.join(', ')}</span>}
                </li>
              );
            })}
          </ol>
        </li>
      ))}
    </ol>
  );
}
