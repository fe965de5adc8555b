import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { startTracing, type Tracing } from '../../src/telemetry';
import { useHarness } from '../support/harness';

interface ReceivedSpan {
  service: string;
  traceId: string;
  spanId: string;
  parentSpanId: string;
  name: string;
  kind: number;
}

/**
 * An OTLP/HTTP receiver on a real port, as a collector would be: it takes the JSON the exporters
 * send to /v1/traces and keeps every span with its service, ids and parent.
 */
async function startReceiver(): Promise<{ url: string; spans: ReceivedSpan[]; close(): Promise<void> }> {
  const spans: ReceivedSpan[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      if (req.url === '/v1/traces') {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
          resourceSpans: Array<{
            resource: { attributes: Array<{ key: string; value: { stringValue?: string } }> };
            scopeSpans: Array<{ spans: Array<Omit<ReceivedSpan, 'service'>> }>;
          }>;
        };
        for (const resourceSpan of body.resourceSpans) {
          const service =
            resourceSpan.resource.attributes.find((attribute) => attribute.key === 'service.name')?.value.stringValue ??
            '';
          for (const scope of resourceSpan.scopeSpans) for (const span of scope.spans) spans.push({ service, ...span });
        }
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    spans,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/**
 * One trace from the HTTP request through the workflow and its activities to the sandbox's run,
 * across the gateway's process and a worker's, exported over OTLP/HTTP (OTEL_EXPORTER_OTLP_ENDPOINT).
 */
describe('traces with OpenTelemetry', () => {
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  let tracing: Tracing;

  beforeAll(async () => {
    receiver = await startReceiver();
    // The gateway runs in this process: its tracer provider, as src/api/server.ts makes it.
    tracing = startTracing('agent-executions-gateway', receiver.url);
  });

  afterAll(async () => {
    await tracing?.shutdown();
    await receiver?.close();
  });

  describe('an execution', () => {
    const harness = useHarness({ model: false, worker: false });

    test('is one trace: request → start → workflow → activity → sandbox run, each span the child of the one before', async () => {
      await harness.spawnWorker({ OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url });
      const started = await harness.request('POST', '/api/executions', { code: "print('traced')" });
      expect(started.status).toBe(202);
      expect((await harness.waitForEnd(started.body.id as string)).status).toBe('succeeded');
      await tracing.spanProcessor.forceFlush();

      const find = (name: string) => receiver.spans.find((span) => span.name === name);
      const chain = [
        'POST /api/executions',
        'StartWorkflow:executionWorkflow',
        'RunWorkflow:executionWorkflow',
        'StartActivity:executeCode',
        'RunActivity:executeCode',
        'sandbox run',
      ];
      // The worker exports in batches, half a second apart.
      for (let i = 0; i < 100 && chain.some((name) => find(name) === undefined); i++) {
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      const spans = chain.map((name) => {
        const span = find(name);
        if (!span) throw new Error(`no span "${name}"; got: ${receiver.spans.map((s) => s.name).join(', ')}`);
        return span;
      });
      expect(new Set(spans.map((span) => span.traceId)).size).toBe(1);
      for (let i = 1; i < spans.length; i++) {
        expect({ span: spans[i].name, parent: spans[i].parentSpanId }).toEqual({
          span: spans[i].name,
          parent: spans[i - 1].spanId,
        });
      }
      expect(spans[0].parentSpanId ?? '').toBe('');
      expect(spans.map((span) => span.service)).toEqual([
        'agent-executions-gateway',
        'agent-executions-gateway',
        'agent-executions-worker',
        'agent-executions-worker',
        'agent-executions-worker',
        'agent-executions-worker',
      ]);
    }, 60_000);
  });
});
