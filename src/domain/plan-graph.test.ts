import { ancestorsOf, dependentsOf, inputsOf, isReady, orderSteps, planProblems } from './plan-graph';
import type { Plan } from './types';

const step = (id: string, dependsOn: string[] = []) => ({ id, title: id, description: '', dependsOn });

// load → clean → (chart, totals) → report; notes stands alone. Listed out of order on purpose.
const PLAN: Plan = {
  steps: [
    step('report', ['chart', 'totals']),
    step('chart', ['clean']),
    step('load'),
    step('totals', ['clean']),
    step('clean', ['load']),
    step('notes'),
  ],
};

const ids = (steps: Array<{ id: string }> | null) => steps?.map((s) => s.id) ?? null;

describe('plan graph walks', () => {
  test('order puts every step after what it depends on', () => {
    const order = ids(orderSteps(PLAN))!;
    expect(order).toHaveLength(6);
    for (const s of PLAN.steps) for (const d of s.dependsOn) expect(order.indexOf(d)).toBeLessThan(order.indexOf(s.id));
    expect(order).toEqual(['load', 'clean', 'chart', 'totals', 'report', 'notes']);
  });

  test('a cycle has no order and is a problem', () => {
    const cyclic: Plan = { steps: [step('a', ['b']), step('b', ['a'])] };
    expect(orderSteps(cyclic)).toBeNull();
    expect(planProblems(cyclic)).toEqual(['the steps depend on each other in a cycle']);
  });

  test('duplicate ids, unknown and self dependencies are problems', () => {
    expect(planProblems({ steps: [step('a'), step('a'), step('b', ['x', 'b'])] })).toEqual([
      'step id "a" is used twice',
      'step "b" depends on unknown step "x"',
      'step "b" depends on itself',
    ]);
    expect(planProblems(PLAN)).toEqual([]);
  });

  test('ancestors are every step reached through dependencies, not the step itself', () => {
    expect([...ancestorsOf(PLAN, 'report')].sort()).toEqual(['chart', 'clean', 'load', 'totals']);
    expect([...ancestorsOf(PLAN, 'load')]).toEqual([]);
    expect([...ancestorsOf(PLAN, 'unknown')]).toEqual([]);
  });

  test('dependents are the step and everything built on it', () => {
    expect([...dependentsOf(PLAN, 'clean')].sort()).toEqual(['chart', 'clean', 'report', 'totals']);
    expect([...dependentsOf(PLAN, 'notes')]).toEqual(['notes']);
    expect([...dependentsOf(PLAN, 'report')]).toEqual(['report']);
  });

  test('a step is ready when every dependency is done and it is neither done nor running', () => {
    const chart = PLAN.steps[1];
    expect(isReady(chart, new Set(['load']), new Set())).toBe(false);
    expect(isReady(chart, new Set(['load', 'clean']), new Set())).toBe(true);
    expect(isReady(chart, new Set(['load', 'clean']), new Set(['chart']))).toBe(false);
    expect(isReady(chart, new Set(['load', 'clean', 'chart']), new Set())).toBe(false);
  });

  test("a step's inputs are the uploads and what its ancestors wrote, later files replacing earlier ones", () => {
    const uploaded = [{ name: 'sales.csv', from: 'upload' }];
    const produced = new Map([
      ['load', [{ name: 'raw.csv', from: 'load' }]],
      [
        'clean',
        [
          { name: 'raw.csv', from: 'clean' },
          { name: 'sales.csv', from: 'clean' },
        ],
      ],
      ['notes', [{ name: 'notes.txt', from: 'notes' }]],
    ]);
    expect(inputsOf(PLAN, 'chart', uploaded, produced)).toEqual([
      { name: 'sales.csv', from: 'clean' },
      { name: 'raw.csv', from: 'clean' },
    ]);
    expect(inputsOf(PLAN, 'notes', uploaded, produced)).toEqual(uploaded);
  });
});
