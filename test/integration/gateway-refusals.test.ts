/** Refusals of the gateway that reach callers: each is the documented code, never a 500 or a hang. */
import { Client, Connection } from '@temporalio/client';
import type { Server } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../src/config';
import { gatewayConnection } from '../../src/api/temporal-connection';
import { startGateway } from '../support/gateway';
import { base64, useHarness } from '../support/harness';

describe('refused submissions', () => {
  const harness = useHarness({ model: false, env: { MAX_UPLOAD_BYTES: '4096' } });

  const submit = (body: unknown, headers: Record<string, string> = {}) =>
    harness.request('POST', '/api/executions', body, headers);

  test('a JSON body past the size limit is a 413 PAYLOAD_TOO_LARGE', async () => {
    // The JSON limit is the file limit inflated for base64, plus 1 MiB for the rest of the body.
    const response = await submit({ code: 'print(1)', padding: 'x'.repeat(2 * 1024 * 1024) });
    expect(response.status).toBe(413);
    expect(response.body.error.code).toBe('PAYLOAD_TOO_LARGE');
  });

  test('two files of one name are a 422 DUPLICATE_FILE_NAME', async () => {
    const response = await submit({
      code: 'print(1)',
      files: [
        { name: 'data.csv', content: base64('a\n1\n') },
        { name: 'data.csv', content: base64('a\n2\n') },
      ],
    });
    expect(response.status).toBe(422);
    expect(response.body.error).toMatchObject({ code: 'DUPLICATE_FILE_NAME' });
    expect(response.body.error.message).toContain('"data.csv"');
  });

  test('a sandbox that is not enabled here is a 422 SANDBOX_NOT_AVAILABLE naming the ones that are', async () => {
    const response = await submit({ code: 'print(1)', options: { sandbox: 'e2b' } });
    expect(response.status).toBe(422);
    expect(response.body.error.code).toBe('SANDBOX_NOT_AVAILABLE');
    expect(response.body.error.message).toContain('available: local');
  });

  test('code and a plan together are refused: one or the other', async () => {
    const response = await submit({
      code: 'print(1)',
      plan: { steps: [{ id: 'main', title: 'Main', dependsOn: [] }] },
    });
    expect(response.status).toBe(422);
    expect(response.body.error.code).toBe('VALIDATION_FAILED');
    expect(response.body.error.message).toContain('not both');
  });

  test('an Idempotency-Key longer than 255 characters is a 400 and starts nothing', async () => {
    const key = 'k'.repeat(256);
    const response = await submit({ code: 'print(1)' }, { 'Idempotency-Key': key });
    expect(response.status).toBe(400);
    expect(response.body.error.code).toBe('BAD_REQUEST');
    expect(response.body.error.message).toContain('Idempotency-Key');
    // 255 characters are still a key.
    const accepted = await submit({ code: 'print(1)' }, { 'Idempotency-Key': 'k'.repeat(255) });
    expect(accepted.status).toBe(202);
    await harness.waitForEnd(accepted.body.id);
  });
});

describe('a gateway whose Temporal server cannot be reached', () => {
  let server: Server;
  let baseUrl: string;
  let connection: Connection;
  let dataDir: string;

  beforeAll(async () => {
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'gateway-outage-'));
    // Port 1 on loopback: nothing listens, so every call is refused at once.
    const config = loadConfig({ TEMPORAL_ADDRESS: '127.0.0.1:1', DATA_DIR: dataDir, LOG_LEVEL: 'silent' });
    connection = gatewayConnection(config.temporal.connection);
    const client = new Client({ connection, namespace: config.temporal.namespace });
    ({ server, baseUrl } = await startGateway(client, config));
  });

  afterAll(async () => {
    server?.closeAllConnections();
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    // A call whose HTTP answer went out (the 2 s deadline of /healthz) may still have a retry
    // scheduled; closing the channel under it would throw from that timer. The gateway's retries end
    // within about a second.
    await new Promise((resolve) => setTimeout(resolve, 2000));
    await connection?.close().catch(() => undefined);
    rmSync(dataDir, { recursive: true, force: true });
  });

  test('answers 503 TEMPORAL_UNAVAILABLE to a submission and a read, and /healthz says down', async () => {
    const submitted = await fetch(`${baseUrl}/api/executions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ code: 'print(1)' }),
    });
    expect(submitted.status).toBe(503);
    expect(((await submitted.json()) as { error: { code: string } }).error.code).toBe('TEMPORAL_UNAVAILABLE');

    const read = await fetch(`${baseUrl}/api/executions/exec-anything`);
    expect(read.status).toBe(503);
    expect(((await read.json()) as { error: { code: string } }).error.code).toBe('TEMPORAL_UNAVAILABLE');

    const health = await fetch(`${baseUrl}/healthz`);
    expect(health.status).toBe(503);
    expect(await health.json()).toEqual({ ok: false, temporal: 'down', worker: 'down' });
  });
});
