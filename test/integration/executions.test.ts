import { SALES_CSV, SALES_PLOT_CODE } from '../support/data';
import { answer } from '../support/fake-model';
import { base64, useHarness } from '../support/harness';

describe('executions with a model', () => {
  const harness = useHarness();

  test('the sync API answers a CSV question with a plot and an analysis', async () => {
    harness.fake.script(
      answer.plan(),
      answer.code(SALES_PLOT_CODE),
      answer.analysis('North grew fastest: revenue rose 110% from January to March.'),
    );
    const response = await harness.request('POST', '/api/task/run/sync', {
      task_description: 'Which region had the highest revenue growth? Plot revenue by month.',
      data_files: [{ name: 'sales.csv', content: base64(SALES_CSV) }],
    });

    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({
      status: 'success',
      success: true,
      analysis: 'North grew fastest: revenue rose 110% from January to March.',
      error: null,
      files: ['revenue.png'],
    });
    expect(response.body.logs).toContain('fastest growth: North 110%');
    expect(response.body.outputs.plots).toHaveLength(1);
    const png = Buffer.from(response.body.outputs.plots[0], 'base64');
    expect(png.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
    // The model saw a preview of the data, not just its name.
    expect(harness.fake.requests[0].user).toContain('2024-01,North,100');
    expect(harness.fake.requests[0].json).toBe(true);

    const snapshot = await harness.request('GET', `/api/executions/${response.body.executionId}`);
    expect(snapshot.body.status).toBe('succeeded');
    expect(snapshot.body.metrics.tokens.prompt).toBeGreaterThan(0);
    expect(snapshot.body.progress).toMatchObject({ percentage: 100, completedSteps: 1, totalSteps: 1 });
    const file = snapshot.body.result.files[0];
    const download = await fetch(`${harness.baseUrl}${file.url}`);
    expect(download.headers.get('content-type')).toBe('image/png');
    expect(Buffer.from(await download.arrayBuffer()).length).toBe(file.size);
  });

  test('code that fails once is generated again with the error and then succeeds', async () => {
    harness.fake.script(
      answer.plan(),
      answer.code("import pandas as pd\ndf = pd.read_csv('sales.csv')\nprint(df['revenu'].sum())"),
      answer.code("import pandas as pd\ndf = pd.read_csv('sales.csv')\nprint('total', df['revenue'].sum())"),
      answer.analysis('Total revenue is 835.'),
    );
    const started = await harness.request('POST', '/api/executions', {
      task: 'What is the total revenue?',
      files: [{ name: 'sales.csv', content: base64(SALES_CSV) }],
    });
    expect(started.status).toBe(202);
    expect(started.body.status).toBe('queued');

    const snapshot = await harness.waitForEnd(started.body.id);
    expect(snapshot.status).toBe('succeeded');
    const attempts = snapshot.steps[0].attempts;
    expect(attempts.map((attempt) => attempt.status)).toEqual(['failed', 'succeeded']);
    expect(attempts[0].error?.code).toBe('CODE_ERROR');
    expect(attempts[0].error?.message).toContain('KeyError');
    expect(attempts[1].stdout).toContain('total 835');
    expect(snapshot.result?.analysis).toBe('Total revenue is 835.');

    const secondPrompt = harness.fake.requests.filter((request) => request.purpose === 'code')[1].user;
    expect(secondPrompt).toContain("df['revenu'].sum()");
    expect(secondPrompt).toContain('KeyError');
    expect(snapshot.metrics.attempts).toBe(2);
    expect(snapshot.metrics.errorRate).toBe(0.5);
  });

  test('three failed attempts end failed with the analysis of the failure', async () => {
    const failing = "raise ValueError('the revenue column holds text')";
    harness.fake.script(
      answer.plan(),
      answer.code(failing),
      answer.code(failing),
      answer.code(failing),
      answer.analysis('The revenue column holds text, so it cannot be summed. Clean the file and try again.'),
    );
    const started = await harness.request('POST', '/api/executions', { task: 'Sum the revenue.' });
    const snapshot = await harness.waitForEnd(started.body.id);

    expect(snapshot.status).toBe('failed');
    expect(snapshot.steps[0].attempts).toHaveLength(3);
    expect(snapshot.error).toMatchObject({
      code: 'CODE_ERROR',
      stepId: 'main',
      message: 'The revenue column holds text, so it cannot be summed. Clean the file and try again.',
    });
    const analysisRequest = harness.fake.requests.find((request) => request.purpose === 'analysis');
    expect(analysisRequest?.user).toContain('ValueError: the revenue column holds text');
    expect(harness.fake.count('code')).toBe(3);
    expect(snapshot.timeline.map((event) => event.event)).toContain('EXECUTION_FAILED');
  });

  test('code refused by validation counts as a failed attempt and is regenerated', async () => {
    harness.fake.script(
      answer.plan(),
      answer.code("print(open('/etc/passwd').read())"),
      answer.code("print('fine')"),
      answer.analysis('Done.'),
    );
    const started = await harness.request('POST', '/api/executions', { task: 'Print something.' });
    const snapshot = await harness.waitForEnd(started.body.id);
    expect(snapshot.status).toBe('succeeded');
    expect(snapshot.steps[0].attempts[0].error?.code).toBe('VALIDATION_ERROR');
    expect(harness.fake.requests.filter((request) => request.purpose === 'code')[1].user).toContain('/etc/passwd');
  });

  test('an execution is listed by status through Temporal visibility', async () => {
    const started = await harness.request('POST', '/api/executions', { code: 'print(1)', triggeredBy: 'user' });
    await harness.waitForEnd(started.body.id);
    // Visibility is eventually consistent: poll briefly.
    let found: Array<{ id: string; status: string; triggeredBy: string }> = [];
    for (let i = 0; i < 50 && !found.some((item) => item.id === started.body.id); i++) {
      const list = await harness.request('GET', '/api/executions?status=succeeded&triggeredBy=user');
      expect(list.status).toBe(200);
      found = list.body.executions;
      if (!found.some((item) => item.id === started.body.id)) await new Promise((r) => setTimeout(r, 200));
    }
    expect(found.find((item) => item.id === started.body.id)).toMatchObject({
      status: 'succeeded',
      triggeredBy: 'user',
    });
    expect(found.every((item) => item.status === 'succeeded' && item.triggeredBy === 'user')).toBe(true);
  });
});
