/** Named tasks with versions and parameters, and their runs, against the real stack. */
import { SALES_CSV } from '../support/data';
import { answer } from '../support/fake-model';
import { base64, useHarness } from '../support/harness';

const TASK = {
  slug: 'regional-revenue',
  title: 'Revenue of a region',
  description: 'Total the revenue of the {{region}} region over {{months}} months.',
  parameters: {
    properties: { region: { type: 'string', enum: ['North', 'South'] }, months: { type: 'integer', default: 3 } },
    required: ['region'],
  },
  files: [{ name: 'sales.csv', content: base64(SALES_CSV) }],
};

describe('named tasks', () => {
  const harness = useHarness({ env: { ADMIN_API_KEY: 'operator-key' } });
  const operator = { authorization: 'Bearer operator-key' };
  harness.defaultHeaders = operator;
  const call = (method: string, route: string, body?: unknown, headers = operator) =>
    harness.request(method, route, body, headers);

  test('a task is created, versioned by each save, and read by version', async () => {
    const created = await call('POST', '/api/tasks', TASK);
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ slug: 'regional-revenue', version: 1, title: TASK.title });
    expect(created.body.files).toEqual([expect.objectContaining({ name: 'sales.csv', size: SALES_CSV.length })]);
    expect((await call('POST', '/api/tasks', TASK)).status).toBe(409);

    const updated = await call('PUT', '/api/tasks/regional-revenue', {
      ...TASK,
      slug: undefined,
      title: 'Regional revenue',
    });
    expect(updated.status).toBe(200);
    expect(updated.body.version).toBe(2);
    const latest = await call('GET', '/api/tasks/regional-revenue');
    expect(latest.body).toMatchObject({ version: 2, title: 'Regional revenue' });
    expect(latest.body.versions.map((v: { version: number }) => v.version)).toEqual([2, 1]);
    expect((await call('GET', '/api/tasks/regional-revenue?version=1')).body.title).toBe(TASK.title);
    expect((await call('GET', '/api/tasks')).body.tasks.map((t: { slug: string }) => t.slug)).toEqual([
      'regional-revenue',
    ]);
  });

  test('a run checks its inputs per field, fills the task text, and records the task and version', async () => {
    const refused = await call('POST', '/api/tasks/regional-revenue/runs', { inputs: { region: 'East', months: 'x' } });
    expect(refused.status).toBe(422);
    expect(refused.body.error.code).toBe('INVALID_INPUTS');
    expect(refused.body.error.details.issues).toEqual([
      { path: 'inputs.region', message: 'must be one of "North", "South"' },
      { path: 'inputs.months', message: 'must be an integer' },
    ]);

    harness.fake.script(
      answer.plan(),
      answer.code("import pandas as pd\ndf = pd.read_csv('sales.csv')\nprint(df[df.region == 'North'].revenue.sum())"),
      answer.analysis('North made 515.'),
    );
    const run = await call('POST', '/api/tasks/regional-revenue/runs', { inputs: { region: 'North' } });
    expect(run.status).toBe(202);
    expect(run.body.task).toEqual({ slug: 'regional-revenue', version: 2 });
    const done = await harness.waitForEnd(run.body.id);
    expect(done.status).toBe('succeeded');
    expect(done.task).toBe('Total the revenue of the North region over 3 months.');
    expect(done.namedTask).toEqual({ slug: 'regional-revenue', version: 2 });
    expect(done.inputs.map((file) => file.name)).toEqual(['sales.csv']);
    expect(harness.fake.requests[0].user).toContain('Total the revenue of the North region over 3 months.');

    // The task's runs are listed by its slug.
    const deadline = Date.now() + 20_000;
    let ids: string[] = [];
    while (Date.now() < deadline && !ids.includes(run.body.id)) {
      const list = await call('GET', '/api/executions?task=regional-revenue');
      ids = (list.body.executions as Array<{ id: string }>).map((summary) => summary.id);
      if (!ids.includes(run.body.id)) await new Promise((resolve) => setTimeout(resolve, 200));
    }
    expect(ids).toContain(run.body.id);
  });

  test('a run of a pinned older version, with code; callers cannot claim a schedule or a webhook', async () => {
    const code = await call('POST', '/api/tasks', {
      slug: 'print-it',
      title: 'Print',
      description: 'Print {{word}}.',
      parameters: { properties: { word: { type: 'string' } }, required: ['word'] },
      code: "print('fixed code')",
    });
    expect(code.status).toBe(201);
    const claimed = await call('POST', '/api/tasks/print-it/runs', { inputs: { word: 'x' }, triggeredBy: 'schedule' });
    expect(claimed.status).toBe(422);
    expect(claimed.body.error.message).toContain('set by the service itself');
    const asWebhook = await call('POST', '/api/executions', { code: 'print(1)', triggeredBy: 'webhook' });
    expect(asWebhook.status).toBe(422);

    harness.fake.script(answer.analysis('It printed.'));
    const run = await call('POST', '/api/tasks/print-it/runs', {
      inputs: { word: 'x' },
      triggeredBy: 'user',
      version: 1,
    });
    expect(run.status).toBe(202);
    const done = await harness.waitForEnd(run.body.id);
    expect(done.status).toBe('succeeded');
    expect(done.triggeredBy).toBe('user');
    expect(done.steps[0].attempts[0]).toMatchObject({ author: 'caller', stdout: 'fixed code\n' });
  });

  test('bad definitions are refused with the field named; a deleted task is gone', async () => {
    const placeholder = await call('POST', '/api/tasks', { ...TASK, slug: 'other', description: 'Use {{colour}}.' });
    expect(placeholder.status).toBe(422);
    expect(placeholder.body.error.message).toContain('{{colour}}');
    const badSlug = await call('POST', '/api/tasks', { ...TASK, slug: 'Bad Slug' });
    expect(badSlug.status).toBe(422);
    expect(badSlug.body.error.details.issues[0].path).toBe('slug');

    expect((await call('DELETE', '/api/tasks/print-it')).status).toBe(204);
    expect((await call('GET', '/api/tasks/print-it')).status).toBe(404);
    expect((await call('POST', '/api/tasks/print-it/runs', { inputs: { word: 'x' } })).status).toBe(404);
    expect((await call('DELETE', '/api/tasks/print-it')).status).toBe(404);
  });

  test("another tenant neither sees nor runs a tenant's tasks", async () => {
    const key = await call('POST', '/api/keys', { tenant: 'globex', name: 'ci', scopes: ['read', 'run'] });
    const globex = { authorization: `Bearer ${key.body.secret as string}` };
    expect((await call('GET', '/api/tasks', undefined, globex)).body.tasks).toEqual([]);
    expect((await call('GET', '/api/tasks/regional-revenue', undefined, globex)).status).toBe(404);
    expect(
      (await call('POST', '/api/tasks/regional-revenue/runs', { inputs: { region: 'North' } }, globex)).status,
    ).toBe(404);
  });
});
