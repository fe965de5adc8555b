import { answer } from '../support/fake-model';
import { base64, useHarness } from '../support/harness';

const DIAMOND = {
  steps: [
    { id: 'load', title: 'Load and clean', dependsOn: [] },
    { id: 'totals', title: 'Totals', dependsOn: ['load'] },
    { id: 'chart', title: 'Chart', dependsOn: ['load'] },
    { id: 'report', title: 'Report', dependsOn: ['totals', 'chart'] },
  ],
};

const CODE = {
  load: "import pandas as pd\npd.read_csv('raw.csv').dropna().to_csv('clean.csv', index=False)\nprint('cleaned')",
  totals:
    "import pandas as pd, time\ntime.sleep(1.5)\npd.read_csv('clean.csv').sum().to_frame('total').to_csv('totals.csv')",
  chart: "import pandas as pd, time\ntime.sleep(1.5)\nopen('chart.txt', 'w').write(str(len(pd.read_csv('clean.csv'))))",
  report: "print(open('totals.csv').read())\nprint('rows', open('chart.txt').read())",
};

describe('plans with several steps', () => {
  const harness = useHarness();

  test('independent steps run in parallel and pass their files on', async () => {
    harness.fake.script(
      ...Array.from({ length: 4 }, () => answer.codeForStep(CODE)),
      answer.analysis('Two rows, totals computed.'),
    );
    const started = await harness.request('POST', '/api/executions', {
      task: 'Clean the data, total it, chart it, report.',
      plan: DIAMOND,
      files: [{ name: 'raw.csv', content: base64('a,b\n1,2\n,3\n4,5\n') }],
    });
    expect(started.status).toBe(202);
    const done = await harness.waitForEnd(started.body.id);
    expect(done.status).toBe('succeeded');
    expect(harness.fake.count('plan')).toBe(0);

    // Both were started before either ended (an order in the timeline, not a measure of time: each
    // sleeps 1.5 s, so running them one after the other would put one's end before the other's start).
    const at = (type: string, stepId: string) =>
      done.timeline.find((event) => event.type === type && event.stepId === stepId)?.seq ?? NaN;
    expect(at('init_branch', 'totals')).toBeLessThan(at('finish_branch', 'chart'));
    expect(at('init_branch', 'chart')).toBeLessThan(at('finish_branch', 'totals'));
    for (const step of ['totals', 'chart']) expect(done.steps.find((s) => s.id === step)!.attempts).toHaveLength(1);

    const report = done.steps.find((step) => step.id === 'report')!.attempts[0].stdout;
    expect(report).toContain('a,5.0');
    expect(report).toContain('rows 2');
    const types = done.timeline.map((event) => event.type);
    expect(types.filter((type) => type === 'init_branch')).toHaveLength(4);
    expect(types.filter((type) => type === 'finish_branch')).toHaveLength(4);
    expect(done.timeline.filter((event) => event.event === 'CHECKPOINT_CREATED')).toHaveLength(4);
    expect(done.result?.files.map((file) => file.name).sort()).toEqual(['chart.txt', 'clean.csv', 'totals.csv']);
  });

  test('checkpoints can be read, and a retry from a step reuses every step before it', async () => {
    harness.fake.script(
      answer.codeForStep({ ...CODE, report: "raise ValueError('report template missing')" }),
      answer.codeForStep(CODE),
      answer.codeForStep(CODE),
      answer.codeForStep({ report: "raise ValueError('report template missing')" }),
      answer.analysis('The report step failed: its template is missing.'),
    );
    const parent = await harness.request('POST', '/api/executions', {
      task: 'Clean, total, chart, report.',
      plan: DIAMOND,
      files: [{ name: 'raw.csv', content: base64('a,b\n1,2\n4,5\n') }],
      options: { maxAttempts: 1 },
    });
    const failed = await harness.waitForEnd(parent.body.id);
    expect(failed.status).toBe('failed');
    expect(failed.error?.stepId).toBe('report');

    const checkpoints = await harness.request('GET', `/api/executions/${parent.body.id}/checkpoints`);
    expect(checkpoints.status).toBe(200);
    expect(checkpoints.body.steps.map((step: { stepId: string }) => step.stepId).sort()).toEqual([
      'chart',
      'load',
      'totals',
    ]);
    expect(checkpoints.body.steps[0].files[0].url).toContain(`/api/executions/${parent.body.id}/artifacts/`);
    expect(checkpoints.body.checkpoints.map((checkpoint: { id: string }) => checkpoint.id)).toEqual([
      'cp-1.1',
      'cp-1.2',
      'cp-1.3',
    ]);

    harness.fake.reset();
    harness.fake.script(answer.analysis('Totals and rows reported.'));
    const retry = await harness.request('POST', `/api/executions/${parent.body.id}/retry`, {
      fromStep: 'report',
      code: CODE.report,
    });
    expect(retry.status).toBe(202);
    expect(retry.body.parentId).toBe(parent.body.id);
    const child = await harness.waitForEnd(retry.body.id);
    expect(child.status).toBe('succeeded');
    expect(child.parentId).toBe(parent.body.id);
    // Nothing was planned or generated again: the only model call is the final analysis.
    expect(harness.fake.requests.map((request) => request.purpose)).toEqual(['analysis']);
    const reused = child.steps.filter((step) => step.attempts[0]?.reused);
    expect(reused.map((step) => step.id).sort()).toEqual(['chart', 'load', 'totals']);
    expect(child.resourceUsage.map((usage) => usage.stepId)).toEqual(['report']);
    expect(child.steps.find((step) => step.id === 'report')!.attempts[0].stdout).toContain('rows 2');
    // The reused files belong to the new execution too.
    const file = child.result!.files.find((ref) => ref.name === 'totals.csv') as { url?: string };
    expect((await fetch(`${harness.baseUrl}${file.url}`)).status).toBe(200);
    // And the timeline says what happened: a retry of the parent that reused three steps and ran one.
    const seqs = child.timeline.map((event) => event.seq);
    seqs.slice(1).forEach((seq, i) => expect(seq).toBeGreaterThan(seqs[i]));
    const retrying = child.timeline.find((event) => event.event === 'RECOVERY_INITIATED');
    expect(retrying?.description).toBe(`retrying execution ${parent.body.id}`);
    expect(retrying?.data).toMatchObject({ strategy: 'restore', parentId: parent.body.id, withCode: ['report'] });
    expect(((retrying?.data?.reused as string[]) ?? []).slice().sort()).toEqual(['chart', 'load', 'totals']);
    const reusedEvents = child.timeline.filter((event) => event.data?.reused === true);
    expect(reusedEvents.map((event) => event.stepId).sort()).toEqual(['chart', 'load', 'totals']);
    for (const event of reusedEvents)
      expect(event.description).toBe(`step ${event.stepId} reused from the parent execution`);
    // Only the report step ran in a sandbox, after the reused steps were taken over.
    const runs = child.timeline.filter((event) => event.event === 'RESOURCE_ALLOCATED');
    expect(runs.map((event) => event.stepId)).toEqual(['report']);
    expect(runs[0].seq).toBeGreaterThan(Math.max(...reusedEvents.map((event) => event.seq)));
    expect(child.timeline.at(-1)?.event).toBe('EXECUTION_COMPLETED');
  });

  test('files written in subfolders reach the dependent steps; hidden files are left out with a note', async () => {
    harness.fake.script(
      answer.codeForStep({
        write:
          "import os\nos.makedirs('out', exist_ok=True)\nopen('out/data.csv', 'w').write('x\\n1\\n')\nopen('.hidden', 'w').write('s')",
        read: "print(open('out/data.csv').read().strip())",
      }),
      answer.codeForStep({ read: "print(open('out/data.csv').read().strip())" }),
      answer.analysis('Read it.'),
    );
    const started = await harness.request('POST', '/api/executions', {
      task: 'Write, then read.',
      plan: {
        steps: [
          { id: 'write', title: 'Write', dependsOn: [] },
          { id: 'read', title: 'Read', dependsOn: ['write'] },
        ],
      },
    });
    const done = await harness.waitForEnd(started.body.id);
    expect(done.status).toBe('succeeded');
    const [write, read] = done.steps;
    expect(write.attempts[0].files.map((file) => file.name)).toEqual(['out/data.csv']);
    expect(write.attempts[0].stderr).toContain('".hidden" was not kept');
    expect(read.attempts[0].stdout).toBe('x\n1\n');
  });

  test('a retry is refused for an unknown step or a running execution', async () => {
    const running = await harness.request('POST', '/api/executions', { code: 'import time\ntime.sleep(5)' });
    const early = await harness.request('POST', `/api/executions/${running.body.id}/retry`, { fromStep: 'main' });
    expect(early.status).toBe(409);
    await harness.request('POST', `/api/executions/${running.body.id}/cancel`, {});
    await harness.waitForEnd(running.body.id);
    const unknown = await harness.request('POST', `/api/executions/${running.body.id}/retry`, { fromStep: 'nope' });
    expect(unknown.status).toBe(422);
    expect(unknown.body.error.code).toBe('UNKNOWN_STEP');
  });
});
