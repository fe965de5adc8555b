/**
 * The behaviour of the reshaped core (patch `core-2`), against the real stack: given code runs as
 * sent, services steer executions with plain Temporal signals, a failing branch stops its siblings,
 * `starting` is observable, and errors say whether a retry can succeed.
 */
import type { ExecutionSnapshot, TimelineEvent } from '../../src/domain/types';
import { answer } from '../support/fake-model';
import { useHarness } from '../support/harness';

const slowCode = (seconds: number) =>
  `import time\nprint('sandbox started', flush=True)\ntime.sleep(${seconds})\nprint('sandbox done')`;

const events = (snapshot: ExecutionSnapshot, name: string): TimelineEvent[] =>
  snapshot.timeline.filter((event) => event.event === name);

/** The state changes of the timeline, as "from→to". */
const transitions = (snapshot: ExecutionSnapshot): string[] =>
  snapshot.timeline
    .filter((event) => event.data && 'from' in event.data && 'to' in event.data)
    .map((event) => `${String(event.data!.from)}→${String(event.data!.to)}`);

describe('the reshaped core', () => {
  const harness = useHarness();

  const start = async (body: Record<string, unknown>): Promise<string> => {
    const response = await harness.request('POST', '/api/executions', body);
    expect(response.status).toBe(202);
    return response.body.id as string;
  };

  describe('code sent by the caller', () => {
    test('runs as sent: its failure is the failure, with its traceback, and no model call', async () => {
      const id = await start({ code: "raise RuntimeError('x marks the spot')" });
      const done = await harness.waitForEnd(id);
      expect(done.status).toBe('failed');
      expect(done.error).toMatchObject({ code: 'CODE_ERROR', stepId: 'main', recoverable: true });
      expect(done.error!.message).toContain('RuntimeError: x marks the spot');
      expect(done.error!.context).toEqual({
        stepId: 'main',
        attempt: 1,
        errorCode: 'CODE_ERROR',
        strategy: 'regenerate',
      });
      expect(done.steps[0].attempts.map((attempt) => attempt.author)).toEqual(['caller']);
      expect(harness.fake.requests).toEqual([]);
      const run = events(done, 'RESOURCE_ALLOCATED')[0];
      expect(run.data).toMatchObject({ author: 'caller' });
    });

    test('is repaired by the model only with options.repair, and each attempt names its author', async () => {
      harness.fake.script(answer.code("print('repaired')"));
      const id = await start({ code: "raise RuntimeError('broken')", options: { repair: true } });
      const done = await harness.waitForEnd(id);
      expect(done.status).toBe('succeeded');
      expect(done.steps[0].attempts.map((attempt) => [attempt.author, attempt.status])).toEqual([
        ['caller', 'failed'],
        ['model', 'succeeded'],
      ]);
      expect(done.steps[0].attempts[1].stdout).toContain('repaired');
      // The model saw the caller's code and its error.
      expect(harness.fake.requests[0].user).toContain("RuntimeError('broken')");
    });

    test('the sync answer names who wrote each attempt', async () => {
      harness.fake.script(answer.plan(), answer.code("print('by the model')"), answer.analysis('Done.'));
      const response = await harness.request('POST', '/api/task/run/sync', { task_description: 'Print something.' });
      expect(response.status).toBe(200);
      expect(response.body.success).toBe(true);
      expect(response.body.attempts).toEqual([{ stepId: 'main', n: 1, author: 'model', status: 'succeeded' }]);
    });
  });

  describe('signals from another service', () => {
    test('input, pause and resume work as plain Temporal signals; a signal the state refuses is recorded', async () => {
      const id = await start({ code: slowCode(4), options: { requireApproval: true } });
      const handle = harness.client.workflow.getHandle(id);
      const waiting = await harness.waitFor(id, (snapshot) => snapshot.awaiting?.kind === 'approval');
      expect(waiting.status).toBe('awaiting_input');
      // Prepared while starting: the question comes from `starting`.
      expect(transitions(waiting)).toEqual(['queued→starting', 'starting→awaiting_input']);

      // A wrong answer by signal is refused and recorded, and the execution keeps waiting.
      await handle.signal('input', { approve: 'yes' });
      const refusedAnswer = await harness.waitFor(id, (snapshot) => events(snapshot, 'SIGNAL_REFUSED').length === 1);
      expect(refusedAnswer.status).toBe('awaiting_input');
      expect(events(refusedAnswer, 'SIGNAL_REFUSED')[0]).toMatchObject({
        data: { signal: 'input', refusal: 'INVALID_INPUT' },
        description: expect.stringContaining('true or false'),
      });

      await handle.signal('input', { approve: true });
      await harness.waitFor(
        id,
        (snapshot) => snapshot.status === 'running' && snapshot.progress.currentPhase === 'executing',
      );

      await handle.signal('resume', {});
      const refused = await harness.waitFor(id, (snapshot) => events(snapshot, 'SIGNAL_REFUSED').length === 2);
      expect(events(refused, 'SIGNAL_REFUSED')[1]).toMatchObject({
        data: { signal: 'resume', refusal: 'INVALID_STATE_TRANSITION' },
        description: 'resume signal refused: cannot resume an execution that is running',
      });

      await handle.signal('pause', { reason: 'from another service' });
      const paused = await harness.waitFor(id, (snapshot) => snapshot.status === 'paused');
      expect(events(paused, 'EXECUTION_PAUSED').at(-1)?.description).toBe('from another service');

      await handle.signal('resume', {});
      const done = await harness.waitForEnd(id);
      expect(done.status).toBe('succeeded');
      expect(transitions(done)).toEqual([
        'queued→starting',
        'starting→awaiting_input',
        'awaiting_input→running',
        'running→running',
        'running→paused',
        'paused→running',
        'running→succeeded',
      ]);
    });
  });

  describe('parallel branches', () => {
    const twoSteps = (bRecovery?: Record<string, unknown>) => ({
      steps: [
        { id: 'a', title: 'A slow step' },
        { id: 'b', title: 'A failing step', ...(bRecovery ? { recovery: bRecovery } : {}) },
      ],
    });

    /** How many activities of the execution ended cancelled, from its Temporal history. */
    const cancelledRuns = async (id: string) => {
      const history = await harness.client.workflow.getHandle(id).fetchHistory();
      return { cancelled: (history.events ?? []).filter((event) => event.activityTaskCanceledEventAttributes).length };
    };

    test('a thrown failure in one branch cancels the others and waits for them', async () => {
      // b's first code fails; its second model call is refused for good while a runs in the sandbox.
      const byStep = { a: slowCode(60), b: "raise ValueError('b broke')" };
      harness.fake.script(answer.codeForStep(byStep), answer.codeForStep(byStep));
      harness.fake.script({ purpose: 'code', status: 401, message: 'the key was revoked' });
      const id = await start({ task: 'Two things at once.', plan: twoSteps() });
      const done = await harness.waitForEnd(id, 45_000);
      expect(done.status).toBe('failed');
      expect(done.error).toMatchObject({ code: 'LLM_ERROR', recoverable: false });
      expect(events(done, 'TASK_FAILED').map((event) => event.description)).toContain(
        'step a was stopped: step b ended the run',
      );
      const runs = await cancelledRuns(id);
      expect(runs.cancelled).toBe(1);
      expect(done.steps.find((step) => step.id === 'a')?.status).toBe('failed');
    });

    test('an abort cancels the running siblings', async () => {
      harness.fake.script(
        answer.codeForStep({ a: slowCode(60), b: "raise ValueError('stop everything')" }),
        answer.codeForStep({ a: slowCode(60), b: "raise ValueError('stop everything')" }),
        answer.analysis('It stopped.'),
      );
      const id = await start({ task: 'Two things at once.', plan: twoSteps({ CODE_ERROR: { strategy: 'abort' } }) });
      const done = await harness.waitForEnd(id, 45_000);
      expect(done.status).toBe('failed');
      expect(done.error).toMatchObject({ code: 'CODE_ERROR', stepId: 'b', recoverable: true });
      expect(done.error!.context).toMatchObject({ strategy: 'abort', attempt: 1 });
      expect((await cancelledRuns(id)).cancelled).toBe(1);
    });

    test('after an ordinary failed step the running siblings finish and keep their outputs', async () => {
      const byStep = {
        a: "import time\ntime.sleep(2)\nopen('a.txt', 'w').write('kept')\nprint('a done')",
        b: "raise ValueError('b broke')",
      };
      harness.fake.script(answer.codeForStep(byStep), answer.codeForStep(byStep), answer.analysis('b broke.'));
      const id = await start({ task: 'Two things at once.', plan: twoSteps(), options: { maxAttempts: 1 } });
      const done = await harness.waitForEnd(id, 45_000);
      expect(done.status).toBe('failed');
      expect(done.steps.map((step) => `${step.id}:${step.status}`)).toEqual(['a:succeeded', 'b:failed']);
      expect(events(done, 'CHECKPOINT_CREATED').map((event) => event.stepId)).toEqual(['a']);
      expect((await cancelledRuns(id)).cancelled).toBe(0);
    });
  });

  describe('starting', () => {
    test('refused code fails while starting, before anything runs', async () => {
      const id = await start({ code: "import socket\nsocket.socket().connect(('example.com', 80))" });
      const done = await harness.waitForEnd(id);
      expect(done.status).toBe('failed');
      expect(done.error?.code).toBe('VALIDATION_ERROR');
      expect(transitions(done)).toEqual(['queued→starting', 'starting→failed']);
      expect(events(done, 'RESOURCE_ALLOCATED')).toEqual([]);
    });

    test('a planning failure fails from starting and cannot be retried from a step', async () => {
      harness.fake.script({ purpose: 'plan', status: 401, message: 'bad key' });
      const id = await start({ task: 'Plan something.' });
      const done = await harness.waitForEnd(id);
      expect(done.status).toBe('failed');
      expect(done.error).toMatchObject({ code: 'LLM_ERROR', recoverable: false, context: { errorCode: 'LLM_ERROR' } });
      expect(transitions(done)).toEqual(['queued→starting', 'starting→failed']);
    });
  });
});

describe('an execution no worker has taken', () => {
  const harness = useHarness({ worker: false });

  test('is queued, and listed as queued, until a worker takes it', async () => {
    const response = await harness.request('POST', '/api/executions', { code: 'print(1)' });
    expect(response.status).toBe(202);
    const id = response.body.id as string;
    const deadline = Date.now() + 20_000;
    let listed: string[] = [];
    while (Date.now() < deadline && !listed.includes(id)) {
      const page = await harness.request('GET', '/api/executions?status=queued');
      listed = (page.body.executions as Array<{ id: string }>).map((summary) => summary.id);
      if (!listed.includes(id)) await new Promise((resolve) => setTimeout(resolve, 200));
    }
    expect(listed).toContain(id);
    await harness.startWorker();
    const done = await harness.waitForEnd(id);
    expect(done.status).toBe('succeeded');
  });
});

describe('repair without a model', () => {
  const harness = useHarness({ model: false });

  test('is refused with the setting to fix', async () => {
    const response = await harness.request('POST', '/api/executions', { code: 'print(1)', options: { repair: true } });
    expect(response.status).toBe(422);
    expect(response.body.error.code).toBe('MODEL_NOT_CONFIGURED');
    expect(response.body.error.message).toContain('OPENAI_API_KEY');
  });
});
