import { SALES_CSV } from '../support/data';
import { answer } from '../support/fake-model';
import { base64, useHarness } from '../support/harness';

/** The metrics that say what an execution was worth: its quality, its use of the CPU, its pace. */
describe('quality and efficiency metrics', () => {
  const harness = useHarness();

  test('the quality score is completeness × groundedness, with the parts beside it', async () => {
    harness.fake.script(
      answer.plan(),
      answer.code(
        "import pandas as pd\ndf = pd.read_csv('sales.csv')\nprint('total', df['revenue'].sum())\nprint('north', df[df.region == 'North']['revenue'].sum())",
      ),
      // 835 and 460 were printed; 55% (and 1,000,000) never were.
      answer.analysis('Revenue totals 835, of which North made 460 (55%). A million (1,000,000) is the goal.'),
    );
    const response = await harness.request('POST', '/api/executions', {
      task: 'What is the total revenue, and how much of it is North?',
      files: [{ name: 'sales.csv', content: base64(SALES_CSV) }],
    });
    const done = await harness.waitForEnd(response.body.id);
    expect(done.status).toBe('succeeded');
    expect(done.metrics.quality).toEqual({
      score: 0.5,
      completeness: 1,
      groundedness: 0.5,
      numbersQuoted: 4,
      numbersGrounded: 2,
      ungrounded: ['55%', '1,000,000'],
    });
    expect(done.metrics.qualityScore).toBe(0.5);
    expect(done.metrics.throughput).toBeGreaterThan(0);
    expect(done.metrics.throughput).toBe(1 / (done.metrics.effectiveDurationMs / 1000));
  });

  test('resource efficiency is near one for code that computes and near zero for code that waits', async () => {
    const run = async (code: string) => {
      const response = await harness.request('POST', '/api/executions', { code });
      return harness.waitForEnd(response.body.id);
    };
    const busy = await run('import time\nstart = time.time()\nwhile time.time() - start < 1.5:\n    pass');
    const idle = await run('import time\ntime.sleep(1.5)');
    expect(busy.metrics.resourceEfficiency).toBeGreaterThan(0.6);
    expect(idle.metrics.resourceEfficiency).toBeLessThan(0.2);
    // Code-only executions have no analysis to judge.
    expect([busy.metrics.qualityScore, idle.metrics.quality]).toEqual([null, null]);
  });
});
