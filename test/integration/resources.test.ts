import type { ExecutionSnapshot, TimelineEvent } from '../../src/domain/types';
import { useHarness } from '../support/harness';

const events = (snapshot: ExecutionSnapshot, name: string): TimelineEvent[] =>
  snapshot.timeline.filter((event) => event.event === name);

/** Code that holds about 600 MiB: more than a 256 MiB limit allows, well within the deployment's 1024. */
const HUNGRY = 'block = bytearray(600 * 1024 * 1024)\nprint(len(block))';

describe('resource requirements (options.resources)', () => {
  const harness = useHarness({
    model: false,
    env: {
      SANDBOX_MAX_MEMORY_MB: '1024',
      SANDBOX_MAX_DISK_MB: '256',
      SANDBOX_MAX_TIMEOUT_MS: '60000',
      SANDBOX_PRICE_PER_SECOND: '0.01',
    },
  });

  test("a requirement past the deployment's maxima is refused with 422, naming each field", async () => {
    const refused = await harness.request('POST', '/api/executions', {
      code: 'print(1)',
      options: { resources: { memoryMb: 2048, timeoutMs: 120_000, diskMb: 100 } },
    });
    expect(refused.status).toBe(422);
    expect(refused.body.error.code).toBe('RESOURCE_LIMIT_EXCEEDED');
    expect(refused.body.error.message).toContain(
      "resources.memoryMb is 2048 MiB, above this deployment's maximum of 1024",
    );
    expect(refused.body.error.message).toContain('resources.timeoutMs is 120000 ms');
    expect(refused.body.error.details.problems.map((problem: { field: string }) => problem.field)).toEqual([
      'memoryMb',
      'timeoutMs',
    ]);
    expect(refused.body.error.details.maxima).toMatchObject({ memoryMb: 1024, diskMb: 256, timeoutMs: 60_000 });
  });

  test('a core count, which the local sandbox cannot give, is refused with 422 saying so', async () => {
    const refused = await harness.request('POST', '/api/executions', {
      code: 'print(1)',
      options: { resources: { cpu: 1 } },
    });
    expect(refused.status).toBe(422);
    expect(refused.body.error.code).toBe('RESOURCE_NOT_SUPPORTED');
    expect(refused.body.error.message).toMatch(/resources\.cpu cannot be honoured: the local sandbox .*CPU time only/);
  });

  test("a priority outside Temporal's keys 1-5 is refused by validation", async () => {
    const refused = await harness.request('POST', '/api/executions', {
      code: 'print(1)',
      options: { resources: { priority: 9 } },
    });
    expect(refused.status).toBe(422);
    expect(refused.body.error.code).toBe('VALIDATION_FAILED');
    expect(JSON.stringify(refused.body.error)).toContain('priority');
  });

  test('a memory limit the code needs more than fails the attempt with RESOURCE_EXHAUSTED; without it the code runs', async () => {
    const limited = await harness.request('POST', '/api/executions', {
      code: HUNGRY,
      options: { maxAttempts: 1, resources: { memoryMb: 256 } },
    });
    expect(limited.status).toBe(202);
    const unlimited = await harness.request('POST', '/api/executions', { code: HUNGRY, options: { maxAttempts: 1 } });
    expect(unlimited.status).toBe(202);

    const failed = await harness.waitForEnd(limited.body.id);
    expect(failed.status).toBe('failed');
    expect(failed.steps[0].attempts[0].error?.code).toBe('RESOURCE_EXHAUSTED');
    expect(failed.error?.code).toBe('RESOURCE_EXHAUSTED');
    expect(events(failed, 'RESOURCE_ALLOCATED')[0].data?.resources).toMatchObject({ memoryMb: 256 });

    const ran = await harness.waitForEnd(unlimited.body.id);
    expect(ran.status).toBe('succeeded');
    expect(ran.steps[0].attempts[0].stdout).toBe(`${600 * 1024 * 1024}\n`);
  });

  test('a disk limit stops code that writes more; a timeout replaces the step timeout for the run', async () => {
    const disk = await harness.request('POST', '/api/executions', {
      code: "import time\nopen('big.bin', 'wb').write(b'x' * (30 * 1024 * 1024))\ntime.sleep(3)",
      options: { maxAttempts: 1, resources: { diskMb: 10 } },
    });
    const slow = await harness.request('POST', '/api/executions', {
      code: 'import time\ntime.sleep(10)',
      options: { maxAttempts: 1, stepTimeoutMs: 30_000, resources: { timeoutMs: 1000 } },
    });
    const full = await harness.waitForEnd(disk.body.id);
    expect(full.steps[0].attempts[0].error).toMatchObject({
      code: 'RESOURCE_EXHAUSTED',
      message: expect.stringContaining(`more than ${10 * 1024 * 1024} bytes`),
    });
    const late = await harness.waitForEnd(slow.body.id);
    expect(late.steps[0].attempts[0].error).toMatchObject({
      code: 'SANDBOX_TIMEOUT',
      message: expect.stringContaining('time limit of 1000 ms'),
    });
    expect(late.steps[0].attempts[0].durationMs).toBeLessThan(5000);
  });

  test('allocation and release carry one id; resourceUsage has the seed fields; priority reaches Temporal', async () => {
    const code = 'total = 0\nfor i in range(3_000_000):\n    total += i\nprint(total)';
    const started = await harness.request('POST', '/api/executions', {
      code,
      options: { resources: { memoryMb: 512, priority: 2 } },
    });
    expect(started.status).toBe(202);
    const done = await harness.waitForEnd(started.body.id);
    expect(done.status).toBe('succeeded');

    const [allocated] = events(done, 'RESOURCE_ALLOCATED');
    const [released] = events(done, 'RESOURCE_RELEASED');
    expect(allocated.data?.resourceId).toBe(`${done.id}/main/1`);
    expect(released.data?.resourceId).toBe(allocated.data?.resourceId);
    expect(allocated.data?.resources).toEqual({ memoryMb: 512, priority: 2, timeoutMs: 120_000 });

    expect(done.resourceUsage).toHaveLength(1);
    const usage = done.resourceUsage[0];
    expect(usage).toMatchObject({
      stepId: 'main',
      attempt: 1,
      resourceId: allocated.data?.resourceId,
      resourceType: 'sandbox',
      sandbox: 'local',
      cores: 1,
    });
    expect(usage.amountUsed).toBeCloseTo(usage.wallMs / 1000, 6);
    expect(usage.cost).toBeCloseTo((usage.wallMs / 1000) * 0.01, 9);
    expect(usage.cpuMs).toBeGreaterThan(50);
    expect(usage.efficiency).toBeCloseTo(usage.cpuMs / usage.wallMs, 9);
    expect(usage.efficiency!).toBeGreaterThan(0.05);
    expect(usage.efficiency!).toBeLessThan(1.5);
    const startTime = Date.parse(usage.startTime!);
    const endTime = Date.parse(usage.endTime!);
    expect(startTime).toBeGreaterThanOrEqual(Date.parse(done.createdAt));
    // The allocation spans the run, and the release is the event the record was closed with.
    expect(endTime - startTime).toBeGreaterThanOrEqual(usage.wallMs);
    expect(usage.endTime).toBe(released.at);
    expect(usage.startTime).toBe(allocated.at);

    const description = await harness.client.workflow.getHandle(done.id).describe();
    expect(description.raw.workflowExecutionInfo?.priority?.priorityKey).toBe(2);
  });

  test('a run cancelled while it holds its sandbox releases the same allocation', async () => {
    const started = await harness.request('POST', '/api/executions', {
      code: 'import time\ntime.sleep(30)',
      options: { resources: { timeoutMs: 50_000 } },
    });
    const id = started.body.id as string;
    await harness.waitFor(id, (snapshot) => events(snapshot, 'RESOURCE_ALLOCATED').length === 1);
    expect((await harness.request('POST', `/api/executions/${id}/cancel`, {})).status).toBe(202);
    const done = await harness.waitForEnd(id);
    expect(done.status).toBe('cancelled');
    const [allocated] = events(done, 'RESOURCE_ALLOCATED');
    const [released] = events(done, 'RESOURCE_RELEASED');
    expect(released.data).toEqual({ resourceId: allocated.data?.resourceId, error: 'CANCELLED' });
    // A run that never ended has no usage to report.
    expect(done.resourceUsage).toEqual([]);

    const description = await harness.client.workflow.getHandle(id).describe();
    expect(description.raw.workflowExecutionInfo?.priority?.priorityKey ?? null).toBeNull();
  });
});
