import { orderSteps } from './plan-graph';
import { parsePlan } from './plan-schema';

describe('plans', () => {
  test('a sound plan is accepted, with defaults filled in', () => {
    const result = parsePlan({ steps: [{ id: 'load', title: 'Load' }] });
    expect(result).toEqual({
      ok: true,
      plan: { steps: [{ id: 'load', title: 'Load', description: '', dependsOn: [] }] },
    });
  });

  test('unknown dependencies, duplicates and cycles are refused', () => {
    const unknown = parsePlan({ steps: [{ id: 'a', title: 'A', dependsOn: ['zzz'] }] });
    expect(unknown).toEqual({ ok: false, problems: ['step "a" depends on unknown step "zzz"'] });
    const duplicate = parsePlan({
      steps: [
        { id: 'a', title: 'A' },
        { id: 'a', title: 'B' },
      ],
    });
    expect(duplicate).toEqual({ ok: false, problems: ['step id "a" is used twice'] });
    const cycle = parsePlan({
      steps: [
        { id: 'a', title: 'A', dependsOn: ['c'] },
        { id: 'b', title: 'B', dependsOn: ['a'] },
        { id: 'c', title: 'C', dependsOn: ['b'] },
      ],
    });
    expect(cycle).toEqual({ ok: false, problems: ['the steps depend on each other in a cycle'] });
  });

  test('schema problems name the field', () => {
    const result = parsePlan({ steps: [{ id: 'has space', title: '' }] });
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.problems.some((problem) => problem.startsWith('steps.0.id'))).toBe(true);
    expect(parsePlan({ steps: [] })).toEqual({ ok: false, problems: [expect.stringMatching(/^steps: /)] });
  });

  test('steps are ordered after what they depend on', () => {
    const ordered = orderSteps({
      steps: [
        { id: 'report', title: 'R', description: '', dependsOn: ['clean', 'load'] },
        { id: 'clean', title: 'C', description: '', dependsOn: ['load'] },
        { id: 'load', title: 'L', description: '', dependsOn: [] },
      ],
    });
    expect(ordered?.map((step) => step.id)).toEqual(['load', 'clean', 'report']);
  });
});
