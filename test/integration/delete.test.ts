import { existsSync } from 'node:fs';
import path from 'node:path';
import { base64, useHarness } from '../support/harness';
import { processesMentioning } from '../support/processes';

/** `DELETE /api/executions/:id`: an execution's files and history removed, tenant by tenant. */
describe('deleting an execution', () => {
  const harness = useHarness({ model: false, env: { ADMIN_API_KEY: 'operator-key' } });
  harness.defaultHeaders = { authorization: 'Bearer operator-key' };
  let acme: Record<string, string>;
  let globex: Record<string, string>;
  let acmeReader: Record<string, string>;

  const folderOf = (id: string) => path.join(harness.dataDir, 'artifacts', id);
  const historyOf = (id: string) =>
    harness.client.workflow
      .getHandle(id)
      .describe()
      .then(
        () => 'present',
        (error: Error) => error.name,
      );

  const goneFromTemporal = async (id: string) => {
    for (let i = 0; i < 900 && (await historyOf(id)) === 'present'; i++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(await historyOf(id)).toBe('WorkflowNotFoundError');
  };

  beforeAll(async () => {
    acme = await harness.keyFor('acme', ['read', 'run']);
    globex = await harness.keyFor('globex', ['read', 'run']);
    acmeReader = await harness.keyFor('acme', ['read']);
  });

  test('a finished execution: its files and history are gone, and it is not found any more', async () => {
    const started = await harness.request(
      'POST',
      '/api/executions',
      {
        code: "open('out.txt', 'w').write(open('in.csv').read().upper())",
        files: [{ name: 'in.csv', content: base64('a,b\n1,2\n') }],
      },
      acme,
    );
    const id = started.body.id as string;
    expect((await harness.waitForEnd(id)).status).toBe('succeeded');
    expect(existsSync(folderOf(id))).toBe(true);

    expect((await harness.request('DELETE', `/api/executions/${id}`, undefined, globex)).status).toBe(404);
    expect((await harness.request('DELETE', `/api/executions/${id}`, undefined, acmeReader)).status).toBe(403);

    const deleted = await harness.request('DELETE', `/api/executions/${id}`, undefined, acme);
    // Temporal removes a closed history in the background: 202 until it is gone.
    expect([200, 202]).toContain(deleted.status);
    expect(deleted.body).toMatchObject({ id, terminated: false, historyDeleted: deleted.status === 200 });
    // The upload and what the code wrote, at least.
    expect(deleted.body.filesRemoved).toBeGreaterThanOrEqual(2);
    expect(existsSync(folderOf(id))).toBe(false);
    await goneFromTemporal(id);
    expect((await harness.request('GET', `/api/executions/${id}`, undefined, acme)).status).toBe(404);
    expect((await harness.request('DELETE', `/api/executions/${id}`, undefined, acme)).status).toBe(404);
  }, 120_000);

  test('an active one is refused with 409 unless ?force=true, which terminates it and kills its sandbox', async () => {
    const started = await harness.request(
      'POST',
      '/api/executions',
      { code: "import time\nprint('working', flush=True)\ntime.sleep(120)", options: { stepTimeoutMs: 300_000 } },
      acme,
    );
    const id = started.body.id as string;
    await harness.waitFor(id, (snapshot) => snapshot.progress.currentPhase === 'executing');

    const refused = await harness.request('DELETE', `/api/executions/${id}`, undefined, acme);
    expect(refused.status).toBe(409);
    expect(refused.body.error.code).toBe('INVALID_STATE_TRANSITION');
    expect(refused.body.error.message).toContain('?force=true');
    const badFlag = await harness.request('DELETE', `/api/executions/${id}?force=yes`, undefined, acme);
    expect(badFlag.status).toBe(422);

    const forced = await harness.request('DELETE', `/api/executions/${id}?force=true`, undefined, acme);
    expect([200, 202]).toContain(forced.status);
    expect(forced.body).toMatchObject({ id, terminated: true, historyDeleted: forced.status === 200 });
    await goneFromTemporal(id);
    expect((await harness.request('GET', `/api/executions/${id}`, undefined, acme)).status).toBe(404);
    // The terminated run's sandbox is stopped by its activity's cancellation, within its heartbeat.
    for (let i = 0; i < 100 && processesMentioning(id).length > 0; i++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(processesMentioning(id)).toEqual([]);
  }, 120_000);
});
