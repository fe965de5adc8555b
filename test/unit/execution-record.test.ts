import { ExecutionRecord, SNAPSHOT_TEXT_BUDGET } from '../../src/domain/execution-record';
import type { ArtifactRef, ExecutionInput, StepAttempt } from '../../src/domain/types';

/** The branches src/domain/execution-record.test.ts leaves: checkpoints, reuse, estimates, outputs, ends. */
const INPUT: ExecutionInput = {
  executionId: 'exec-2',
  task: 'Chart it',
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
    model: 'm',
    onExhausted: 'fail',
    inputTimeoutMs: 60_000,
    // $1 per million tokens of either kind, $0.5 per sandbox second: round numbers to check.
    prices: { promptPerMillion: 1, completionPerMillion: 1, sandboxPerSecond: 0.5 },
  },
  triggeredBy: 'api',
  kind: 'task',
  modelAvailable: true,
  createdAt: '2026-01-01T00:00:00.000Z',
};

const PLAN = {
  steps: [
    { id: 'load', title: 'Load', description: '', dependsOn: [] },
    { id: 'chart', title: 'Chart', description: '', dependsOn: ['load'] },
  ],
};

const file = (name: string, contentType: string): ArtifactRef => ({
  name,
  key: `k/${name}`,
  size: 1,
  sha256: 'x',
  contentType,
});

const attempt = (extra: Partial<Omit<StepAttempt, 'n'>> = {}): Omit<StepAttempt, 'n'> => ({
  status: 'succeeded',
  author: 'model',
  code: 'print(1)',
  stdout: '1\n',
  stderr: '',
  error: null,
  durationMs: 10,
  files: [],
  results: [],
  ...extra,
});

function started(input: ExecutionInput = INPUT) {
  let now = Date.parse('2026-01-01T00:00:00.000Z');
  const record = new ExecutionRecord(input, () => new Date(now));
  record.apply('start', 'taken');
  record.apply('run', 'work');
  return { record, advance: (ms: number) => (now += ms) };
}

describe('execution record, further', () => {
  test('hasPlan and isFinished follow the plan and the status', () => {
    const { record } = started();
    expect(record.hasPlan).toBe(false);
    record.setPlan(PLAN);
    expect(record.hasPlan).toBe(true);
    expect(record.isFinished).toBe(false);
    record.succeed({ analysis: null, outputs: { plots: [], data: null }, files: [] });
    expect(record.isFinished).toBe(true);
    expect(record.snapshot().progress).toMatchObject({ percentage: 100, estimatedTimeRemainingMs: 0 });
  });

  test('a step started while the status allows no step event is still on the timeline', () => {
    const { record } = started();
    record.setPlan(PLAN);
    record.apply('pause', 'lunch');
    record.startStep('load');
    expect(record.current).toBe('paused');
    expect(record.snapshot().timeline.at(-1)).toMatchObject({ event: 'TASK_STARTED', stepId: 'load' });
  });

  test('a checkpoint keeps the successful attempt; a step without one cannot be kept', () => {
    const { record } = started();
    record.setPlan(PLAN);
    record.startStep('load');
    record.recordAttempt('load', attempt({ status: 'failed', error: { code: 'CODE_ERROR', message: 'boom' } }));
    expect(() => record.checkpoint('load')).toThrow('step load has no successful attempt to keep');
    record.recordAttempt('load', attempt({ files: [file('clean.csv', 'text/csv')] }));
    const checkpoint = record.checkpoint('load');
    expect(checkpoint).toMatchObject({ stepId: 'load', attempt: 2, author: 'model', code: 'print(1)', stdout: '1\n' });
    expect(record.snapshot().timeline.at(-1)).toMatchObject({
      event: 'CHECKPOINT_CREATED',
      data: { files: ['clean.csv'] },
    });
    expect(record.checkpoints()).toEqual([checkpoint]);
    record.finishStep('load', 'succeeded');
    record.startStep('chart');
    record.finishStep('chart', 'failed');
    expect(record.snapshot().timeline.at(-1)).toMatchObject({
      type: 'error',
      event: 'TASK_FAILED',
      description: 'step chart failed after 0 attempt(s)',
    });
  });

  test('checkpoints list the finished steps with their states and values; on demand while active only', () => {
    const { record, advance } = started();
    record.setPlan(PLAN);
    record.startStep('load');
    record.recordAttempt('load', attempt({ results: [{ text: '3', isMainResult: true }] }));
    record.finishStep('load', 'succeeded');
    record.checkpoint('load');
    advance(1000);
    record.startStep('chart');
    expect(record.checkpointRefusal()).toBeNull();
    expect(record.checkpointOnDemand('key-1')).toEqual({ id: 'cp-1.2', timestamp: '2026-01-01T00:00:01.000Z' });
    const { checkpoints, steps } = record.checkpointList();
    expect(steps.map((kept) => kept.stepId)).toEqual(['load']);
    expect(checkpoints).toEqual([
      {
        id: 'cp-1.1',
        executionId: 'exec-2',
        timestamp: '2026-01-01T00:00:00.000Z',
        state: {
          currentTaskId: 'load',
          completedTasks: ['load'],
          taskStates: { load: { status: 'succeeded', attempts: 1 }, chart: { status: 'pending', attempts: 0 } },
          variables: { load: { result: '3' } },
        },
        metadata: { reason: 'step_finished', run: 1, stepId: 'load', attempt: 1, variablesBytes: 23 },
      },
      {
        id: 'cp-1.2',
        executionId: 'exec-2',
        timestamp: '2026-01-01T00:00:01.000Z',
        state: {
          currentTaskId: 'chart',
          completedTasks: ['load'],
          taskStates: { load: { status: 'succeeded', attempts: 1 }, chart: { status: 'running', attempts: 0 } },
          variables: { load: { result: '3' } },
        },
        metadata: { reason: 'on_demand', run: 1, by: 'key-1', variablesBytes: 23 },
      },
    ]);
    expect(record.snapshot().timeline.at(-1)).toMatchObject({
      event: 'CHECKPOINT_CREATED',
      data: { checkpointId: 'cp-1.2', reason: 'on_demand', completedTasks: ['load'], by: 'key-1' },
    });
    record.fail({ code: 'CODE_ERROR', message: 'x', stepId: 'chart', recoverable: true });
    expect(record.checkpointRefusal()).toBe('cannot make a checkpoint of an execution that is failed');
  });

  test('a restored run numbers its checkpoints after its run and names where reused steps came from', () => {
    const { record } = started({
      ...INPUT,
      restore: { checkpointId: 'cp-1.1', previousRunId: 'run-1', run: 2 },
    });
    record.setPlan(PLAN);
    record.reuse({ stepId: 'load', attempt: 1, at: 'then', code: 'x', stdout: '', files: [], results: [] }, 'cp-1.1');
    const [reused] = record.checkpointList().checkpoints;
    expect(reused).toMatchObject({
      id: 'cp-2.1',
      metadata: { reason: 'step_reused', run: 2, stepId: 'load', restoredFrom: 'cp-1.1' },
    });
    expect(record.snapshot().timeline.at(-1)?.description).toBe('step load reused from checkpoint cp-1.1');
  });

  test('on-demand checkpoints are bounded per run', () => {
    const { record } = started();
    for (let i = 0; i < 100; i++) record.checkpointOnDemand(null);
    expect(record.checkpointRefusal()).toBe('this run already has 100 checkpoints made on demand');
  });

  test('a reused checkpoint is a succeeded first attempt; an old one without an author is the model’s', () => {
    const { record } = started();
    record.setPlan(PLAN);
    record.reuse({ stepId: 'load', attempt: 3, at: 'then', code: 'x = 1', stdout: 'ok', files: [], results: [] });
    const [load] = record.snapshot().steps;
    expect(load.status).toBe('succeeded');
    expect(load.attempts).toEqual([expect.objectContaining({ n: 1, reused: true, author: 'model', code: 'x = 1' })]);
    expect(record.checkpoints()[0].attempt).toBe(1);
    record.reuse({
      stepId: 'chart',
      attempt: 1,
      at: 'then',
      author: 'person',
      code: 'y',
      stdout: '',
      files: [],
      results: [],
    });
    expect(record.snapshot().steps[1].attempts[0].author).toBe('person');
    expect(() =>
      record.reuse({ stepId: 'nope', attempt: 1, at: '', code: '', stdout: '', files: [], results: [] }),
    ).toThrow('unknown step nope');
  });

  test('estimates are a typical call and run at first, then the average of those made', () => {
    const { record } = started();
    record.setPlan(PLAN);
    // 1,500 tokens at $1 per million; 10 s at $0.5.
    expect(record.estimateUsd('model')).toBeCloseTo(0.0015, 10);
    expect(record.estimateUsd('sandbox')).toBeCloseTo(5, 10);
    record.addTokens({ prompt: 3000, completion: 1000 });
    record.addTokens({ prompt: 1000, completion: 1000 });
    expect(record.estimateUsd('model')).toBeCloseTo(0.003, 10);
    record.recordAttempt('load', attempt(), { cpuMs: 1, peakMemoryBytes: 1, wallMs: 2000 });
    record.recordAttempt('load', attempt(), { cpuMs: 1, peakMemoryBytes: 1, wallMs: 4000 });
    // An attempt without usage (reused, or refused before it ran) adds no run.
    record.recordAttempt('load', attempt());
    expect(record.estimateUsd('sandbox')).toBeCloseTo(1.5, 10);
    expect(record.spentUsd()).toBeCloseTo(0.006 + 3, 10);
  });

  test('a skipped step counts as done for the progress and is on the timeline', () => {
    const { record } = started();
    record.setPlan(PLAN);
    record.skipStep('load');
    const snapshot = record.snapshot();
    expect(snapshot.steps[0].status).toBe('skipped');
    expect(snapshot.progress).toMatchObject({ completedSteps: 1, totalSteps: 2, percentage: 50 });
    expect(snapshot.timeline.at(-1)).toMatchObject({ event: 'TASK_COMPLETED', data: { skipped: true } });
  });

  test('an empty plan is at the analysis share of the progress', () => {
    const { record } = started();
    record.setPlan({ steps: [] });
    expect(record.snapshot().progress).toMatchObject({ percentage: 90, totalSteps: 0 });
  });

  test('a cancel or a timeout before any plan cannot be retried from a step; after one it can', () => {
    const before = started().record;
    before.cancel('not needed');
    expect(before.snapshot().error).toMatchObject({ code: 'CANCELLED', message: 'not needed', recoverable: false });

    const after = started().record;
    after.setPlan(PLAN);
    after.startStep('load');
    after.timeOut('deadline passed');
    const snapshot = after.snapshot();
    expect(snapshot.status).toBe('timed_out');
    expect(snapshot.error).toMatchObject({ code: 'TIMED_OUT', stepId: 'load', recoverable: true });
    expect(snapshot.steps.map((step) => step.status)).toEqual(['failed', 'skipped']);

    const timedOutEarly = started().record;
    timedOutEarly.timeOut('too slow');
    expect(timedOutEarly.snapshot().error?.recoverable).toBe(false);
  });

  test('a failure keeps its error with the time it happened', () => {
    const { record } = started();
    record.fail({ code: 'LLM_ERROR', message: 'bad key', stepId: null, recoverable: false });
    expect(record.snapshot().error).toEqual({
      code: 'LLM_ERROR',
      message: 'bad key',
      stepId: null,
      recoverable: false,
      at: '2026-01-01T00:00:00.000Z',
    });
  });

  test("outputs gather each step's successful files, its PNGs and charts as plots, and the main result", () => {
    const { record } = started();
    record.setPlan(PLAN);
    const chart = file('figure-1.png', 'image/png');
    record.recordAttempt('load', attempt({ status: 'failed', files: [file('broken.csv', 'text/csv')] }));
    record.recordAttempt('load', attempt({ files: [file('clean.csv', 'text/csv'), file('map.png', 'image/png')] }));
    record.recordAttempt(
      'chart',
      attempt({
        results: [
          { png: chart, isMainResult: false },
          { text: '42', json: { total: 42 }, isMainResult: true },
        ],
      }),
    );
    const outputs = record.outputs();
    expect(outputs.files.map((ref) => ref.name)).toEqual(['clean.csv', 'map.png']);
    expect(outputs.plots.map((ref) => ref.name)).toEqual(['map.png', 'figure-1.png']);
    expect(outputs.data).toEqual({ total: 42 });
  });

  test('the main result falls back to its text, then to nothing', () => {
    const text = started().record;
    text.setPlan({ steps: [PLAN.steps[0]] });
    text.recordAttempt('load', attempt({ results: [{ text: 'seven', isMainResult: true }] }));
    expect(text.outputs().data).toBe('seven');
    const none = started().record;
    none.setPlan({ steps: [PLAN.steps[0]] });
    none.recordAttempt('load', attempt({ results: [{ html: '<b>x</b>', isMainResult: true }] }));
    expect(none.outputs().data).toBeNull();
  });

  test('the remaining time subtracts what the running step has already spent, never below zero', () => {
    const { record, advance } = started();
    record.setPlan({ steps: [...PLAN.steps, { id: 'report', title: 'Report', description: '', dependsOn: [] }] });
    record.startStep('load');
    advance(1000);
    record.finishStep('load', 'succeeded');
    record.startStep('chart');
    advance(400);
    // Two steps to go at the 1 s average, less the 0.4 s the running one has already spent.
    expect(record.snapshot().progress.estimatedTimeRemainingMs).toBe(2000 - 400);
    advance(5000);
    // Far over the average: the current step counts as at most one average.
    expect(record.snapshot().progress.estimatedTimeRemainingMs).toBe(1000);
  });

  test('messages, phases and questions: defaults, repeats and what the snapshot shows of them', () => {
    const { record } = started();
    record.setPlan(PLAN);
    record.log('info', 'loaded');
    expect(record.snapshot().messages.at(-1)).toMatchObject({ message: 'loaded', stepId: null });
    record.startStep('load');
    const seq = record.snapshot().seq;
    // The same phase of the same step again changes nothing, not even the sequence number.
    record.setPhase('generating');
    expect(record.snapshot().seq).toBe(seq);
    record.setPhase('executing');
    expect(record.snapshot().progress).toMatchObject({ currentPhase: 'executing', currentStep: 'load' });
    record.setAwaiting({ kind: 'input', prompt: 'Which file?', since: 'now' });
    expect(record.snapshot().awaiting).toEqual({ kind: 'input', prompt: 'Which file?', since: 'now' });
    expect(record.snapshot().seq).toBe(seq + 2);
    record.setAwaiting(null);
    expect(record.snapshot().awaiting).toBeNull();
  });

  test('between steps the estimate uses finished steps only; unstarted or failed steps give no outputs', () => {
    const { record, advance } = started();
    record.setPlan(PLAN);
    record.startStep('load');
    advance(1000);
    record.recordAttempt('load', attempt({ files: [file('a.csv', 'text/csv')] }));
    record.finishStep('load', 'succeeded');
    // Finished without having been started (a reused step is): no time is counted for it.
    record.finishStep('chart', 'failed');
    record.setPhase('analyzing', null);
    expect(record.snapshot().progress.estimatedTimeRemainingMs).toBe(1000);
    expect(record.outputs().files.map((ref) => ref.name)).toEqual(['a.csv']);
  });

  test('past the text budget even the newest attempts are cut, errors and results included', () => {
    const { record } = started();
    record.setPlan({ steps: [PLAN.steps[0]] });
    const big = 'z'.repeat(SNAPSHOT_TEXT_BUDGET);
    record.recordAttempt(
      'load',
      attempt({
        status: 'failed',
        stdout: big,
        error: { code: 'CODE_ERROR', message: big, traceback: big },
        results: [{ text: big, html: big, markdown: big, svg: big, json: { big }, isMainResult: true }],
      }),
    );
    record.recordAttempt('load', attempt({ stdout: big }));
    record.recordAttempt(
      'load',
      attempt({ status: 'failed', stdout: big, error: { code: 'CODE_ERROR', message: 'short' } }),
    );
    const [older, middle, newest] = record.snapshot().steps[0].attempts;
    expect(middle.error).toBeNull();
    expect(middle.stdout.length).toBeLessThan(300);
    // The last tier: the newest attempt cut to 2,048 characters, older ones to 256.
    expect(newest.stdout.startsWith('z'.repeat(2048))).toBe(true);
    expect(newest.stdout.length).toBeLessThan(2100);
    expect(newest.error).toEqual({ code: 'CODE_ERROR', message: 'short', traceback: undefined });
    expect(older.stdout.length).toBeLessThan(300);
    expect(older.error?.traceback?.length).toBeLessThan(300);
    expect(older.results[0]).toMatchObject({ html: undefined, svg: undefined, isMainResult: true });
    expect(older.results[0].text?.length).toBeLessThan(300);
    expect(older.results[0].markdown?.length).toBeLessThan(300);
  });
});
