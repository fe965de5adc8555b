import { freePort } from '../../src/dev/temporal-dev-server';
import { useHarness } from '../support/harness';

/** Parses Prometheus' text format into `name{labels}` → value. */
function samples(text: string): Map<string, number> {
  const found = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line.startsWith('#') || line.trim() === '') continue;
    const at = line.lastIndexOf(' ');
    found.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return found;
}

/**
 * A worker's metrics: its own (prom-client: the sandbox's runs, kills, refusals and pool) on
 * WORKER_METRICS_PORT, and Temporal's worker metrics from the SDK's exporter on WORKER_SDK_METRICS_PORT.
 */
describe('the worker’s metrics', () => {
  const harness = useHarness({ model: false, worker: false });

  test('sandbox runs by outcome, kills by reason, refusals and the pool; Temporal’s own beside them', async () => {
    const [port, sdkPort] = [await freePort(), await freePort()];
    await harness.spawnWorker({ WORKER_METRICS_PORT: String(port), WORKER_SDK_METRICS_PORT: String(sdkPort) });
    const run = async (body: Record<string, unknown>) => {
      const started = await harness.request('POST', '/api/executions', body);
      expect(started.status).toBe(202);
      return harness.waitForEnd(started.body.id as string);
    };
    expect((await run({ code: 'print(1)' })).status).toBe('succeeded');
    expect((await run({ code: 'import pandas\nprint(pandas.__version__)' })).status).toBe('succeeded');
    expect((await run({ code: '1/0' })).status).toBe('failed');
    const slow = await run({ code: 'import time\ntime.sleep(30)', options: { stepTimeoutMs: 1500 } });
    expect(slow.error?.code).toBe('SANDBOX_TIMEOUT');
    expect((await run({ code: 'import socket' })).error?.code).toBe('VALIDATION_ERROR');

    const ours = await fetch(`http://127.0.0.1:${port}/metrics`);
    expect(ours.status).toBe(200);
    const metrics = samples(await ours.text());
    expect(metrics.get('sandbox_runs_total{backend="local",outcome="succeeded"}')).toBe(2);
    expect(metrics.get('sandbox_runs_total{backend="local",outcome="CODE_ERROR"}')).toBe(1);
    expect(metrics.get('sandbox_runs_total{backend="local",outcome="SANDBOX_TIMEOUT"}')).toBe(1);
    expect(metrics.get('sandbox_kills_total{backend="local",reason="timeout"}')).toBe(1);
    expect(metrics.get('sandbox_validation_refusals_total{backend="local"}')).toBe(1);
    expect(metrics.get('sandbox_run_duration_seconds_count{backend="local",outcome="succeeded"}')).toBe(2);
    // The timed-out run took its 1.5 s at least.
    expect(metrics.get('sandbox_run_duration_seconds_sum{backend="local",outcome="SANDBOX_TIMEOUT"}')).toBeGreaterThan(
      1.4,
    );
    // Four runs and the worker's own listing of the sandbox's modules at start, each in a started
    // sandbox or in one started for it.
    const takes = ['warm_hit', 'bare_hit', 'miss'].map(
      (result) => metrics.get(`sandbox_pool_takes_total{backend="local",result="${result}"}`) ?? 0,
    );
    expect(takes.reduce((sum, n) => sum + n, 0)).toBe(5);
    expect(metrics.get('sandbox_pool_idle{backend="local",kind="warm"}')).toBeGreaterThanOrEqual(0);
    expect(metrics.get('process_resident_memory_bytes')).toBeGreaterThan(0);
    expect((await fetch(`http://127.0.0.1:${port}/other`)).status).toBe(404);

    const sdk = samples(await (await fetch(`http://127.0.0.1:${sdkPort}/metrics`)).text());
    const names = [...sdk.keys()].map((key) => key.split('{')[0]);
    expect(names).toEqual(expect.arrayContaining(['temporal_worker_task_slots_available']));
    expect(names.some((name) => name.startsWith('temporal_activity_execution_latency'))).toBe(true);
  }, 120_000);
});
