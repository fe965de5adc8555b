import type { AlertCondition, SampledTransition } from '../domain/alerts';
import { SampledAlerts } from './alert-samples';

const cpu: AlertCondition = { id: 'alert-1', metric: 'cpu_usage', operator: 'gt', threshold: 50, source: 'execution' };
const memory: AlertCondition = {
  id: 'alert-2',
  metric: 'memory_bytes',
  operator: 'gte',
  threshold: 1000,
  durationMs: 1000,
  source: 'task',
};

describe('sampled alerts', () => {
  test('CPU is percent of a core over each interval; transitions are sent once per episode, in order', async () => {
    const sent: SampledTransition[][] = [];
    const alerts = new SampledAlerts(
      [cpu, memory],
      async (found) => void sent.push(found),
      () => undefined,
      0,
    );
    alerts.take({ atMs: 500, cpuMs: 100, rssBytes: 10 }); // 20%
    alerts.take({ atMs: 1000, cpuMs: 590, rssBytes: 2000 }); // 98%: fires; memory starts to hold
    alerts.take({ atMs: 1500, cpuMs: 1080, rssBytes: 2000 }); // still 98%: no second trigger
    alerts.take({ atMs: 2000, cpuMs: 1100, rssBytes: 2000 }); // 4%: resolves; memory held 1000 ms: fires
    await alerts.flushed();
    expect(sent.flat().map((t) => `${t.alertId} ${t.kind} ${t.value}`)).toEqual([
      'alert-1 triggered 98',
      'alert-1 resolved 4',
      'alert-2 triggered 2000',
    ]);
    expect(sent.flat()[2]).toMatchObject({ heldMs: 1000, at: new Date(2000).toISOString() });
  });

  test('a failed send is reported and does not stop later ones', async () => {
    const warned: string[] = [];
    let calls = 0;
    const alerts = new SampledAlerts(
      [cpu],
      async () => {
        calls++;
        if (calls === 1) throw new Error('Temporal away');
      },
      (message) => warned.push(message),
      0,
    );
    alerts.take({ atMs: 100, cpuMs: 100, rssBytes: 0 });
    alerts.take({ atMs: 200, cpuMs: 100, rssBytes: 0 });
    await alerts.flushed();
    expect(calls).toBe(2);
    expect(warned).toEqual(['an alert sample could not be sent']);
  });
});
