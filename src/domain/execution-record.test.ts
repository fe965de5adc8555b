import { ExecutionRecord, MAX_TIMELINE, RefusedTransition } from './execution-record';
import type { ExecutionInput } from './types';

const input: ExecutionInput = {
  executionId: 'exec-1',
  task: 'Sum it',
  code: null,
  plan: null,
  files: [],
  options: {
    maxAttempts: 3,
    timeoutMs: 60_000,
    stepTimeoutMs: 10_000,
    requireApproval: false,
    budgetUsd: null,
    sandbox: 'local',
    model: 'gpt-4o-mini',
    onExhausted: 'fail',
    inputTimeoutMs: 60_000,
    prices: { promptPerMillion: 0.15, completionPerMillion: 0.6, sandboxPerSecond: 0.001 },
  },
  triggeredBy: 'api',
  kind: 'task',
  modelAvailable: true,
  createdAt: '2026-01-01T00:00:00.000Z',
};

function clock() {
  let now = Date.parse('2026-01-01T00:00:00.000Z');
  return { now: () => new Date(now), advance: (ms: number) => (now += ms) };
}

describe('execution record', () => {
  test("a sandbox run with an allocation is a resource usage record with the seed's fields", () => {
    const time = clock();
    const record = new ExecutionRecord(input, time.now);
    record.apply('start', 'taken');
    record.apply('run', 'work');
    record.setPlan({ steps: [{ id: 'main', title: 'Sum', description: '', dependsOn: [] }] });
    record.startStep('main');
    const startTime = time.now().toISOString();
    time.advance(2000);
    record.recordAttempt(
      'main',
      {
        status: 'succeeded',
        author: 'caller',
        code: 'print(1)',
        stdout: '1\n',
        stderr: '',
        error: null,
        durationMs: 2000,
        files: [],
        results: [],
      },
      { cpuMs: 500, peakMemoryBytes: 10, wallMs: 2000 },
      { resourceId: 'exec-1/main/1', sandbox: 'local', startTime },
    );
    const snapshot = record.snapshot();
    expect(snapshot.resourceUsage).toEqual([
      {
        stepId: 'main',
        attempt: 1,
        cpuMs: 500,
        peakMemoryBytes: 10,
        wallMs: 2000,
        resourceId: 'exec-1/main/1',
        resourceType: 'sandbox',
        sandbox: 'local',
        amountUsed: 2,
        cost: 2 * 0.001,
        startTime: '2026-01-01T00:00:00.000Z',
        endTime: '2026-01-01T00:00:02.000Z',
        cores: 1,
        efficiency: 0.25,
      },
    ]);
    expect(snapshot.metrics.resourceEfficiency).toBe(0.25);
  });

  test('walks a successful execution and reports it', () => {
    const time = clock();
    const record = new ExecutionRecord(input, time.now);
    record.apply('start', 'taken');
    record.apply('run', 'work');
    record.setPlan({ steps: [{ id: 'main', title: 'Sum', description: '', dependsOn: [] }] });
    record.addTokens({ prompt: 1_000_000, completion: 0 });
    record.startStep('main');
    time.advance(1500);
    const png = {
      name: 'figure-1.png',
      key: 'steps/main/1/figures/figure-1.png',
      size: 3,
      sha256: 'x',
      contentType: 'image/png',
    };
    record.recordAttempt(
      'main',
      {
        status: 'succeeded',
        author: 'caller',
        code: 'print(1)',
        stdout: '1\n',
        stderr: '',
        error: null,
        durationMs: 1500,
        files: [],
        results: [
          { png, isMainResult: false },
          { text: '42', isMainResult: true },
        ],
      },
      { cpuMs: 1000, peakMemoryBytes: 1, wallMs: 1500 },
    );
    record.finishStep('main', 'succeeded');
    const outputs = record.outputs();
    expect(outputs).toEqual({ files: [], plots: [png], data: '42' });
    record.succeed({ analysis: 'ok', outputs: { plots: outputs.plots, data: outputs.data }, files: [] });

    const snapshot = record.snapshot();
    expect(snapshot.status).toBe('succeeded');
    expect(snapshot.metrics).toMatchObject({
      totalDurationMs: 1500,
      attempts: 1,
      successRate: 1,
      costUsd: 0.15 + 1.5 * 0.001,
      sandboxSeconds: 1.5,
    });
    expect(snapshot.progress).toMatchObject({
      percentage: 100,
      completedSteps: 1,
      totalSteps: 1,
      currentPhase: 'done',
    });
    expect(snapshot.timeline.map((event) => event.seq)).toEqual(
      [...snapshot.timeline.map((event) => event.seq)].sort((a, b) => a - b),
    );
    expect(snapshot.timeline.at(-1)).toMatchObject({ type: 'finish', event: 'EXECUTION_COMPLETED' });
  });

  test('refuses transitions the table does not allow', () => {
    const record = new ExecutionRecord(input, clock().now);
    expect(() => record.succeed({ analysis: null, outputs: { plots: [], data: null }, files: [] })).toThrow(
      RefusedTransition,
    );
    expect(record.current).toBe('queued');
  });

  test('cancelling marks the running step failed and the rest skipped', () => {
    const record = new ExecutionRecord(input, clock().now);
    record.apply('start', '');
    record.apply('run', '');
    record.setPlan({
      steps: [
        { id: 'a', title: 'A', description: '', dependsOn: [] },
        { id: 'b', title: 'B', description: '', dependsOn: ['a'] },
      ],
    });
    record.startStep('a');
    record.cancel('stop');
    const snapshot = record.snapshot();
    expect(snapshot.steps.map((step) => step.status)).toEqual(['failed', 'skipped']);
    expect(snapshot.error).toMatchObject({ code: 'CANCELLED', message: 'stop', stepId: 'a' });
  });

  test('the timeline stays bounded and keeps its beginning', () => {
    const record = new ExecutionRecord(input, clock().now);
    record.apply('start', '');
    for (let i = 0; i < MAX_TIMELINE * 2; i++) record.addEvent('step', 'TASK_STARTED', `event ${i}`);
    const timeline = record.snapshot().timeline;
    expect(timeline).toHaveLength(MAX_TIMELINE);
    expect(timeline[0].event).toBe('EXECUTION_STARTED');
    expect(timeline.at(-1)?.description).toBe(`event ${MAX_TIMELINE * 2 - 1}`);
  });

  test('time paused or waiting for a person does not count as effective time', () => {
    const time = clock();
    const record = new ExecutionRecord(input, time.now);
    record.apply('start', '');
    record.apply('run', '');
    time.advance(1000);
    record.apply('pause', '');
    time.advance(5000);
    record.apply('resume', '');
    time.advance(1000);
    record.apply('await_input', '');
    time.advance(3000);
    expect(record.snapshot().metrics).toMatchObject({ totalDurationMs: 10_000, effectiveDurationMs: 2000 });
    record.apply('input_received', '');
    time.advance(500);
    expect(record.snapshot().metrics).toMatchObject({ totalDurationMs: 10_500, effectiveDurationMs: 2500 });
  });

  test('the remaining time is estimated from finished steps', () => {
    const time = clock();
    const record = new ExecutionRecord(input, time.now);
    record.apply('start', '');
    record.apply('run', '');
    record.setPlan({
      steps: ['a', 'b', 'c'].map((id) => ({ id, title: id, description: '', dependsOn: [] })),
    });
    expect(record.snapshot().progress.estimatedTimeRemainingMs).toBeNull();
    record.startStep('a');
    time.advance(2000);
    record.finishStep('a', 'succeeded');
    record.startStep('b');
    time.advance(500);
    // Two steps left at about 2 s each, half a second of the current one already spent.
    expect(record.snapshot().progress).toMatchObject({ completedSteps: 1, estimatedTimeRemainingMs: 3500 });
  });
});

describe('the snapshot stays below the payload limit', () => {
  const attempt = (n: number, chars: number) => ({
    status: 'failed' as const,
    author: 'model' as const,
    code: `# attempt ${n}\n${'c'.repeat(chars)}`,
    stdout: 'o'.repeat(chars),
    stderr: 'e'.repeat(chars / 2),
    error: { code: 'CODE_ERROR' as const, message: 'm'.repeat(chars / 2), traceback: 't'.repeat(chars / 2) },
    durationMs: 1,
    files: [],
    results: [],
  });
  const recordWith = (steps: number, attempts: number, chars: number) => {
    const record = new ExecutionRecord(input, clock().now);
    record.setPlan({
      steps: Array.from({ length: steps }, (_, i) => ({ id: `s${i}`, title: 's', description: '', dependsOn: [] })),
    });
    for (let s = 0; s < steps; s++)
      for (let n = 1; n <= attempts; n++) record.recordAttempt(`s${s}`, attempt(n, chars));
    return record;
  };
  const text = (snapshot: ReturnType<ExecutionRecord['snapshot']>) =>
    snapshot.steps
      .flatMap((step) => step.attempts)
      .reduce((sum, a) => sum + a.code.length + a.stdout.length + a.stderr.length + (a.error?.message.length ?? 0), 0);

  test('a small execution keeps its last three attempts of each step in full', () => {
    const snapshot = recordWith(2, 5, 4000).snapshot();
    const lengths = snapshot.steps[0].attempts.map((a) => a.stdout.length);
    expect(lengths.slice(2)).toEqual([4000, 4000, 4000]);
    expect(lengths[0]).toBeLessThan(1100);
    expect(snapshot.steps[0].attempts[0].stdout).toContain('… [cut: 2976 more characters]');
  });

  test('the largest plan (20 steps × 10 attempts of large output) is shortened to fit', () => {
    const snapshot = recordWith(20, 10, 8000).snapshot();
    expect(snapshot.steps.every((step) => step.attempts.length === 10)).toBe(true);
    expect(text(snapshot)).toBeLessThan(600_000);
    expect(Buffer.byteLength(JSON.stringify(snapshot))).toBeLessThan(1024 * 1024);
    // The last attempt of each step keeps the most.
    const last = snapshot.steps[0].attempts[9];
    const first = snapshot.steps[0].attempts[0];
    expect(last.stdout.length).toBeGreaterThan(first.stdout.length);
    expect(last.code).toContain('# attempt 10');
  });

  test("the alerts' metrics: the running step's clock, attempts, error rate, tokens; clocks stop at the end", () => {
    const time = clock();
    const record = new ExecutionRecord(input, time.now);
    record.apply('start', 'taken');
    expect(record.alertMetrics().growing).toEqual(new Set(['execution_duration']));
    record.apply('run', 'work');
    record.setPlan({ steps: [{ id: 'main', title: 'Sum', description: '', dependsOn: [] }] });
    time.advance(500);
    record.startStep('main');
    time.advance(1200);
    record.addTokens({ prompt: 30, completion: 12 });
    const running = record.alertMetrics();
    expect(running.values).toMatchObject({ execution_duration: 1700, step_duration: 1200, tokens: 42, attempts: 0 });
    expect(running.growing).toEqual(new Set(['execution_duration', 'step_duration']));
    record.recordAttempt('main', {
      status: 'failed',
      author: 'model',
      code: 'x',
      stdout: '',
      stderr: '',
      error: { code: 'CODE_ERROR', message: 'boom' },
      durationMs: 100,
      files: [],
      results: [],
    });
    expect(record.alertMetrics().values).toMatchObject({ attempts: 1, error_rate: 1 });
    record.finishStep('main', 'failed');
    expect(record.alertMetrics().values.step_duration).toBe(0);
    record.fail({ code: 'CODE_ERROR', message: 'boom', stepId: 'main', recoverable: true });
    time.advance(5000);
    const ended = record.alertMetrics();
    expect(ended.values.execution_duration).toBe(1700);
    expect(ended.growing.size).toBe(0);
  });
});
