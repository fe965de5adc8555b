import {
  alertRequestProblem,
  evaluate,
  holds,
  nextChangeAt,
  type AlertCondition,
  type AlertMetric,
  type AlertTracking,
} from './alerts';

const condition = (over: Partial<AlertCondition> = {}): AlertCondition => ({
  id: 'alert-1',
  metric: 'step_duration',
  operator: 'gt',
  threshold: 1000,
  source: 'execution',
  ...over,
});

/** Evaluates `condition` at each (time, value) in turn, returning the transitions' kinds and the last tracking. */
function run(cond: AlertCondition, points: Array<[number, number | undefined]>) {
  let tracking = new Map<string, AlertTracking>();
  const kinds: string[] = [];
  for (const [at, value] of points) {
    const outcome = evaluate([cond], value === undefined ? {} : { [cond.metric]: value }, at, tracking);
    tracking = outcome.tracking;
    kinds.push(...outcome.transitions.map((transition) => `${transition.kind}@${at}`));
  }
  return { kinds, tracking: tracking.get(cond.id) };
}

describe('holds', () => {
  it.each([
    ['gt', 2, 1, true],
    ['gt', 1, 1, false],
    ['gte', 1, 1, true],
    ['lt', 0, 1, true],
    ['lte', 1, 1, true],
    ['lte', 1.5, 1, false],
    ['eq', 0.1 + 0.2, 0.3, true],
    ['eq', 0.31, 0.3, false],
  ] as const)('%s %d %d is %s', (operator, value, threshold, expected) => {
    expect(holds(operator, value, threshold)).toBe(expected);
  });
});

describe('evaluate', () => {
  it('fires once per episode and resolves when the condition stops holding', () => {
    const { kinds, tracking } = run(condition(), [
      [0, 0],
      [1001, 1001],
      [1500, 1500],
      [2000, 2000],
      [2100, 0],
      [2200, 0],
      [5000, 1200],
    ]);
    expect(kinds).toEqual(['triggered@1001', 'resolved@2100', 'triggered@5000']);
    expect(tracking).toMatchObject({ state: 'firing', episodes: 2, triggeredAtMs: 5000, value: 1200 });
  });

  it('with a duration, fires only once the condition has held that long', () => {
    const cond = condition({ metric: 'cost_usd', threshold: 1, durationMs: 500 });
    expect(
      run(cond, [
        [0, 2],
        [400, 2],
        [450, 0], // stopped holding before 500 ms: back to ok without a transition
        [1000, 2],
        [1499, 2],
        [1500, 2],
      ]).kinds,
    ).toEqual(['triggered@1500']);
  });

  it('reports how long the condition held when it fired and how long the episode lasted', () => {
    const cond = condition({ durationMs: 200 });
    let tracking = new Map<string, AlertTracking>();
    tracking = evaluate([cond], { step_duration: 1100 }, 100, tracking).tracking;
    const fired = evaluate([cond], { step_duration: 1400 }, 400, tracking);
    expect(fired.transitions).toEqual([
      expect.objectContaining({ kind: 'triggered', heldMs: 300, value: 1400, message: expect.stringContaining('>') }),
    ]);
    const resolved = evaluate([cond], { step_duration: 0 }, 900, fired.tracking);
    expect(resolved.transitions).toEqual([expect.objectContaining({ kind: 'resolved', heldMs: 800, value: 0 })]);
  });

  it('a metric without a value holds no condition', () => {
    expect(run(condition({ metric: 'cpu_usage', threshold: 50 }), [[0, undefined]]).kinds).toEqual([]);
  });
});

describe('nextChangeAt', () => {
  const growing = new Set<AlertMetric>(['step_duration', 'execution_duration']);

  it('is the moment a growing clock passes the threshold', () => {
    const cond = condition();
    const values = { step_duration: 300 };
    const { tracking } = evaluate([cond], values, 10_000, new Map());
    expect(nextChangeAt([cond], values, 10_000, tracking, growing)).toBe(10_701);
    const gte = condition({ operator: 'gte' });
    expect(nextChangeAt([gte], values, 10_000, tracking, growing)).toBe(10_700);
  });

  it('is the end of a pending duration', () => {
    const cond = condition({ metric: 'tokens', threshold: 10, durationMs: 250 });
    const { tracking } = evaluate([cond], { tokens: 20 }, 1000, new Map());
    expect(nextChangeAt([cond], { tokens: 20 }, 1000, tracking, growing)).toBe(1250);
  });

  it('is null when nothing changes by time alone', () => {
    const values = { step_duration: 300, tokens: 5 };
    const tokens = condition({ metric: 'tokens', threshold: 10 });
    expect(nextChangeAt([tokens], values, 0, new Map(), growing)).toBeNull();
    // A clock that does not run (no step in progress) is not waited on.
    expect(nextChangeAt([condition()], values, 0, new Map(), new Set())).toBeNull();
    // Already past the threshold and firing: only its end could change it, and time does not end it.
    const { tracking } = evaluate([condition()], { step_duration: 2000 }, 0, new Map());
    expect(nextChangeAt([condition()], { step_duration: 2000 }, 0, tracking, growing)).toBeNull();
  });
});

describe('alertRequestProblem', () => {
  it('names what is wrong', () => {
    expect(alertRequestProblem({ metric: 'tokens', operator: 'gt', threshold: 1 })).toBeNull();
    expect(alertRequestProblem({ metric: 'nope' as AlertMetric, operator: 'gt', threshold: 1 })).toMatch(/metric/);
    expect(alertRequestProblem({ metric: 'tokens', operator: 'ne' as 'gt', threshold: 1 })).toMatch(/operator/);
    expect(alertRequestProblem({ metric: 'tokens', operator: 'gt', threshold: Number.NaN })).toMatch(/threshold/);
    expect(alertRequestProblem({ metric: 'tokens', operator: 'gt', threshold: 1, durationMs: -1 })).toMatch(/duration/);
  });
});
