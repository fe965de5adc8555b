import { base64, useHarness } from '../support/harness';
import { processesMentioning } from '../support/processes';

describe('code-only executions, without a model', () => {
  const harness = useHarness({ model: false, env: { MAX_UPLOAD_BYTES: '4096' } });

  test('POST then GET shows succeeded with stdout and the written files', async () => {
    const code = [
      'import pandas as pd',
      "df = pd.read_csv('numbers.csv')",
      "df['double'] = df['n'] * 2",
      "df.to_csv('doubled.csv', index=False)",
      "print('sum', df['double'].sum())",
      'df',
    ].join('\n');
    const started = await harness.request('POST', '/api/executions', {
      code,
      files: [{ name: 'numbers.csv', content: base64('n\n1\n2\n3\n') }],
    });
    expect(started.status).toBe(202);
    expect(started.body.links.self).toBe(`/api/executions/${started.body.id}`);
    expect(started.body.links.temporalUi).toContain(`/workflows/${started.body.id}`);

    const snapshot = await harness.waitForEnd(started.body.id);
    expect(snapshot.status).toBe('succeeded');
    expect(snapshot.kind).toBe('code');
    expect(snapshot.result?.analysis).toBeNull();
    const attempt = snapshot.steps[0].attempts[0];
    expect(attempt.stdout).toContain('sum 12');
    expect(attempt.files.map((file) => file.name)).toEqual(['doubled.csv']);
    expect(snapshot.result?.files.map((file) => file.name)).toEqual(['doubled.csv']);
    expect(snapshot.resourceUsage[0].wallMs).toBeGreaterThan(0);
    const main = attempt.results.find((result) => result.isMainResult);
    expect(main?.html).toContain('<table');

    const file = (snapshot.result?.files[0] ?? {}) as { url?: string };
    const download = await fetch(`${harness.baseUrl}${file.url}`);
    expect(download.status).toBe(200);
    expect(await download.text()).toBe('n,double\n1,2\n2,4\n3,6\n');

    const events = snapshot.timeline.map((event) => event.event);
    expect(events[0]).toBe('EXECUTION_STARTED');
    expect(events).toContain('RESOURCE_ALLOCATED');
    expect(events.at(-1)).toBe('EXECUTION_COMPLETED');
  });

  test("the code's ml messages join the execution's messages", async () => {
    const started = await harness.request('POST', '/api/executions', {
      code: "import ml\nml.warn('3 rows had no date')\nml.info('loaded')",
    });
    const snapshot = await harness.waitForEnd(started.body.id);
    expect(snapshot.messages).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ level: 'warning', message: '3 rows had no date', stepId: 'main' }),
        expect.objectContaining({ level: 'info', message: 'loaded', stepId: 'main' }),
      ]),
    );
  });

  test('an uploaded file is readable at /<name> as well as in the working directory, and read-only there', async () => {
    const code = [
      "print(open('/sales.csv').read(), end='')",
      "print(open('sales.csv').read() == open('/sales.csv').read())",
      'try:',
      "    open('/sales.csv', 'w').write('changed')",
      "    print('written')",
      'except OSError as error:',
      "    print('refused:', error.strerror)",
    ].join('\n');
    const started = await harness.request('POST', '/api/executions', {
      code,
      files: [{ name: 'sales.csv', content: base64('region,amount\nnorth,10\n') }],
    });
    expect(started.status).toBe(202);

    const snapshot = await harness.waitForEnd(started.body.id);
    expect(snapshot.status).toBe('succeeded');
    const attempt = snapshot.steps[0].attempts[0];
    expect(attempt.stdout).toBe('region,amount\nnorth,10\nTrue\nrefused: Read-only file system\n');
    expect(attempt.files).toEqual([]);
    expect(snapshot.messages.filter((message) => message.stepId === 'main')).toEqual([]);
  });

  test('an upload named like a system path stays in the working directory only, and the step says so', async () => {
    const code = [
      'import os',
      "print(open('etc').read(), end='')",
      // The system's /etc is still there; the upload is not at the root.
      "print(os.path.isdir(os.path.join('/', 'etc')), open('/notes.txt').read())",
    ].join('\n');
    const started = await harness.request('POST', '/api/executions', {
      code,
      files: [
        { name: 'etc', content: base64('an upload called etc\n') },
        { name: 'notes.txt', content: base64('at the root') },
      ],
    });
    expect(started.status).toBe(202);

    const snapshot = await harness.waitForEnd(started.body.id);
    expect(snapshot.status).toBe('succeeded');
    expect(snapshot.steps[0].attempts[0].stdout).toBe('an upload called etc\nTrue at the root\n');
    expect(snapshot.messages).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          level: 'warning',
          message: 'The file "etc" is only in the working directory, not at /etc: that would shadow a system path.',
          stepId: 'main',
        }),
      ]),
    );
  });

  test('multipart uploads work like JSON ones', async () => {
    const form = new FormData();
    form.append('code', "print(open('data.txt').read().upper())");
    form.append('files', new Blob(['hello']), 'data.txt');
    const response = await fetch(`${harness.baseUrl}/api/executions`, { method: 'POST', body: form });
    expect(response.status).toBe(202);
    const { id } = (await response.json()) as { id: string };
    const snapshot = await harness.waitForEnd(id);
    expect(snapshot.steps[0].attempts[0].stdout).toContain('HELLO');
  });

  test('without a model, failing code fails at once with the Python error', async () => {
    const started = await harness.request('POST', '/api/executions', { code: '1/0' });
    const snapshot = await harness.waitForEnd(started.body.id);
    expect(snapshot.status).toBe('failed');
    expect(snapshot.steps[0].attempts).toHaveLength(1);
    expect(snapshot.error?.code).toBe('CODE_ERROR');
    expect(snapshot.error?.message).toContain('ZeroDivisionError');
  });

  test('the same Idempotency-Key returns the same execution', async () => {
    const key = `key-${Date.now()}`;
    const first = await harness.request('POST', '/api/executions', { code: 'print(1)' }, { 'Idempotency-Key': key });
    const second = await harness.request('POST', '/api/executions', { code: 'print(2)' }, { 'Idempotency-Key': key });
    expect(first.status).toBe(202);
    expect(second.status).toBe(202);
    expect(second.body.id).toBe(first.body.id);
    const snapshot = await harness.waitForEnd(first.body.id);
    expect(snapshot.steps[0].attempts[0].stdout).toBe('1\n');
  });

  test('a task that needs a model is refused with the variables to set', async () => {
    const response = await harness.request('POST', '/api/executions', { task: 'Summarise the data.' });
    expect(response.status).toBe(422);
    expect(response.body.error.code).toBe('MODEL_NOT_CONFIGURED');
    expect(response.body.error.details.variables).toEqual(['OPENAI_API_KEY', 'OPENAI_BASE_URL', 'LLM_MODEL']);
  });

  test('bad requests get the documented errors', async () => {
    const malformed = await harness.request('POST', '/api/executions', '{"task": ');
    expect(malformed.status).toBe(400);
    expect(malformed.body.error.code).toBe('MALFORMED_JSON');

    const missing = await harness.request('POST', '/api/executions', { options: {} });
    expect(missing.status).toBe(422);
    expect(missing.body.error.message).toContain('give a task, a plan or code');

    const badOption = await harness.request('POST', '/api/executions', {
      code: 'print(1)',
      options: { maxAttempts: 99 },
    });
    expect(badOption.status).toBe(422);
    expect(badOption.body.error.details.issues[0].path).toBe('options.maxAttempts');

    const unknown = await harness.request('GET', '/api/executions/exec-does-not-exist');
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.code).toBe('NOT_FOUND');

    const traversal = await harness.request('POST', '/api/executions', {
      code: 'print(1)',
      files: [{ name: '../../x', content: base64('x') }],
    });
    expect(traversal.status).toBe(422);
    expect(traversal.body.error.code).toBe('INVALID_FILE_NAME');

    const oversized = await harness.request('POST', '/api/executions', {
      code: 'print(1)',
      files: [{ name: 'big.csv', content: base64('x'.repeat(5000)) }],
    });
    expect(oversized.status).toBe(413);
    expect(oversized.body.error.code).toBe('FILE_TOO_LARGE');

    const form = new FormData();
    form.append('code', 'print(1)');
    form.append('files', new Blob(['x'.repeat(5000)]), 'big.csv');
    const oversizedPart = await fetch(`${harness.baseUrl}/api/executions`, { method: 'POST', body: form });
    expect(oversizedPart.status).toBe(413);

    const notBase64 = await harness.request('POST', '/api/executions', {
      code: 'print(1)',
      files: [{ name: 'a.csv', content: '***' }],
    });
    expect(notBase64.status).toBe(422);
    expect(notBase64.body.error.code).toBe('INVALID_FILE_CONTENT');

    const cyclic = await harness.request('POST', '/api/executions', {
      plan: {
        steps: [
          { id: 'a', title: 'A', dependsOn: ['b'] },
          { id: 'b', title: 'B', dependsOn: ['a'] },
        ],
      },
    });
    expect(cyclic.status).toBe(422);
    expect(cyclic.body.error.code).toBe('INVALID_PLAN');

    const cancelUnknown = await harness.request('POST', '/api/executions/exec-nope/cancel', {});
    expect(cancelUnknown.status).toBe(404);

    const noRoute = await harness.request('GET', '/api/nothing-here');
    expect(noRoute.status).toBe(404);
    expect(noRoute.body.error.code).toBe('NOT_FOUND');

    for (const response of [malformed, missing, unknown, traversal, oversized, notBase64]) {
      expect(response.text).not.toMatch(/at .*\.ts:\d+/);
    }
  });

  test('cancelling during a long sandbox run kills the sandbox and ends cancelled', async () => {
    const started = await harness.request('POST', '/api/executions', {
      code: "import time\nprint('started', flush=True)\ntime.sleep(120)",
      options: { stepTimeoutMs: 300_000 },
    });
    const id = started.body.id as string;
    await harness.waitFor(id, (snapshot) => snapshot.progress.currentPhase === 'executing');
    // Give the sandbox a moment to really be running.
    for (let i = 0; i < 50 && processesMentioning(id).length === 0; i++) await new Promise((r) => setTimeout(r, 100));
    expect(processesMentioning(id).length).toBeGreaterThan(0);

    const cancel = await harness.request('POST', `/api/executions/${id}/cancel`, { reason: 'changed my mind' });
    expect(cancel.status).toBe(202);
    const snapshot = await harness.waitForEnd(id, 30_000);
    expect(snapshot.status).toBe('cancelled');
    expect(snapshot.error).toMatchObject({ code: 'CANCELLED', message: 'changed my mind' });
    expect(snapshot.timeline.at(-1)?.event).toBe('EXECUTION_CANCELLED');
    expect(processesMentioning(id)).toEqual([]);

    const again = await harness.request('POST', `/api/executions/${id}/cancel`, {});
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe('INVALID_STATE_TRANSITION');
  });

  test('a run past stepTimeoutMs is a failed attempt with SANDBOX_TIMEOUT', async () => {
    const started = await harness.request('POST', '/api/executions', {
      code: 'while True:\n    pass',
      options: { stepTimeoutMs: 1500 },
    });
    const snapshot = await harness.waitForEnd(started.body.id);
    expect(snapshot.status).toBe('failed');
    expect(snapshot.error?.code).toBe('SANDBOX_TIMEOUT');
    expect(processesMentioning(started.body.id)).toEqual([]);
  });

  test('a worker stopped and restarted mid-execution still finishes it', async () => {
    const started = await harness.request('POST', '/api/executions', {
      code: "import time\ntime.sleep(3)\nopen('done.txt', 'w').write('ok')\nprint('finished')",
    });
    const id = started.body.id as string;
    await harness.waitFor(id, (snapshot) => snapshot.progress.currentPhase === 'executing');
    await harness.stopWorker();
    await harness.startWorker();
    const snapshot = await harness.waitForEnd(id, 90_000);
    expect(snapshot.status).toBe('succeeded');
    expect(snapshot.steps[0].attempts.at(-1)?.stdout).toContain('finished');
    expect(snapshot.result?.files.map((file) => file.name)).toEqual(['done.txt']);
    // The stop interrupted the run: Temporal started the sandbox activity again on the new worker,
    // and the execution records one attempt, not the interrupted one as a failure.
    const history = await harness.client.workflow.getHandle(id).fetchHistory();
    const attempts = (history.events ?? [])
      .filter((event) => event.activityTaskStartedEventAttributes)
      .map((event) => Number(event.activityTaskStartedEventAttributes!.attempt));
    expect(Math.max(...attempts)).toBeGreaterThanOrEqual(2);
    expect(snapshot.steps[0].attempts).toHaveLength(1);
  });

  test('health and metrics answer', async () => {
    // A submission of this test's own, so that the counter does not depend on the tests before it.
    const started = await harness.request('POST', '/api/executions', { code: 'print(1)' });
    expect(started.status).toBe(202);
    await harness.waitForEnd(started.body.id);
    const health = await harness.request('GET', '/healthz');
    expect(health.body).toEqual({ ok: true, temporal: 'up', worker: 'up' });
    const events = await fetch(`${harness.baseUrl}/api/executions/${started.body.id as string}/events`);
    await events.text(); // an ended execution's stream closes after its `end` event
    const metrics = await fetch(`${harness.baseUrl}/metrics`);
    expect(metrics.headers.get('content-type')).toContain('text/plain');
    const text = await metrics.text();
    expect(text).toMatch(/^gateway_executions_started_total\{trigger="api"\} [1-9]/m);
    // The request above, in the histogram by route pattern and status.
    expect(text).toMatch(
      /^gateway_http_request_duration_seconds_count\{method="POST",route="\/executions",status="202"\} [1-9]/m,
    );
    expect(text).toMatch(/^gateway_sse_clients 0$/m);
    expect(text).toMatch(/^process_cpu_user_seconds_total \d/m);
    expect(text).toMatch(/^nodejs_eventloop_lag_seconds \d/m);
  });
});
