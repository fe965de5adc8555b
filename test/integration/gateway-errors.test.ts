/** What the gateway answers to requests that are the caller's mistake: the error shape, never a 500. */
import http from 'node:http';
import { useHarness } from '../support/harness';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

describe('the gateway and bad input', () => {
  const harness = useHarness({ model: false });

  test('a nextPageToken the server never made is a 400', async () => {
    for (const token of ['garbage', 'AAAAAAAAAAAAAAAA', '%%%']) {
      const response = await harness.request('GET', `/api/executions?nextPageToken=${encodeURIComponent(token)}`);
      expect(response.status).toBe(400);
      expect(response.body.error.code).toBe('BAD_REQUEST');
      expect(response.body.error.message).toContain('nextPageToken');
    }
  });

  test('a real page token leads to the next page, and only under the filters it was made for', async () => {
    for (let i = 0; i < 2; i++) {
      expect((await harness.request('POST', '/api/executions', { code: `print(${i})` })).status).toBe(202);
    }
    let first: { status: number; body: any } = { status: 0, body: null }; // eslint-disable-line @typescript-eslint/no-explicit-any
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline) {
      first = await harness.request('GET', '/api/executions?pageSize=1');
      if (first.body?.nextPageToken) break;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    expect(first.status).toBe(200);
    const token = first.body.nextPageToken as string;
    expect(typeof token).toBe('string');
    const second = await harness.request('GET', `/api/executions?pageSize=1&nextPageToken=${token}`);
    expect(second.status).toBe(200);
    expect(second.body.executions).toHaveLength(1);
    expect(second.body.executions[0].id).not.toBe(first.body.executions[0].id);
    const otherFilter = await harness.request('GET', `/api/executions?pageSize=1&status=failed&nextPageToken=${token}`);
    expect(otherFilter.status).toBe(400);
  });

  test('a multipart body the parser cannot read is a 400 BAD_MULTIPART', async () => {
    const part = 'Content-Disposition: form-data; name="code"\r\n\r\nprint(1)\r\n';
    const unreadable = [
      // The boundary does not match the header's: busboy says "Unexpected end of form".
      { boundary: 'expected', body: `--other\r\n${part}--other--\r\n`, reason: 'Unexpected end of form' },
      { boundary: 'b', body: '--b\r\nno colon here\r\n\r\nx\r\n--b--\r\n', reason: 'Malformed part header' },
    ];
    for (const { boundary, body, reason } of unreadable) {
      const response = await harness.request('POST', '/api/executions', body, {
        'content-type': `multipart/form-data; boundary=${boundary}`,
      });
      expect(response.status).toBe(400);
      expect(response.body.error.code).toBe('BAD_MULTIPART');
      expect(response.body.error.message).toContain(reason);
    }
  });

  test('a body that is neither JSON nor multipart is a 415', async () => {
    const response = await harness.request('POST', '/api/executions', 'print(1)', { 'content-type': 'text/plain' });
    expect(response.status).toBe(415);
    expect(response.body.error.code).toBe('UNSUPPORTED_MEDIA_TYPE');
  });

  test('a short, plain X-Request-Id is echoed; any other is replaced by a new id', async () => {
    for (const plain of ['client-42.a_b', 'x'.repeat(128)]) {
      const response = await harness.request('GET', '/api/executions', undefined, { 'x-request-id': plain });
      expect(response.headers.get('x-request-id')).toBe(plain);
    }
    for (const bad of ['x'.repeat(129), 'y'.repeat(200), 'has spaces', 'semi;colon', '<script>', 'tab\there']) {
      const response = await harness.request('GET', '/api/executions', undefined, { 'x-request-id': bad });
      expect(response.status).toBe(200);
      expect(response.headers.get('x-request-id')).not.toBe(bad);
      expect(response.headers.get('x-request-id')).toMatch(UUID);
    }
    const none = await harness.request('GET', '/api/executions');
    expect(none.headers.get('x-request-id')).toMatch(UUID);
  });

  /** A GET whose path reaches the gateway exactly as written: a URL would resolve `..` and `%2e%2e` first. */
  const rawGet = (path: string) =>
    new Promise<{ status: number; text: string }>((resolve, reject) => {
      const { hostname, port } = new URL(harness.baseUrl);
      http
        .get({ hostname, port, path }, (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => (text += chunk));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
        })
        .on('error', reject);
    });

  test('artifact paths that climb out of the execution are not found', async () => {
    const started = await harness.request('POST', '/api/executions', { code: "open('out.txt', 'w').write('hi')" });
    expect(started.status).toBe(202);
    const id = started.body.id as string;
    const done = await harness.waitForEnd(id);
    expect(done.status).toBe('succeeded');
    const file = done.result!.files[0] as { url?: string; key: string };
    const good = await fetch(`${harness.baseUrl}/api/executions/${id}/artifacts/${file.key}`);
    expect(good.status).toBe(200);
    expect(good.headers.get('content-length')).toBe('2');
    expect(await good.text()).toBe('hi');
    // Each would reach the same file again if the store let a key climb out of its execution.
    for (const route of [`../${id}/${file.key}`, `%2e%2e/${id}/${file.key}`, `steps/%2E%2E/%2e%2e/${id}/${file.key}`]) {
      const response = await rawGet(`/api/executions/${id}/artifacts/${route}`);
      expect(response.status).toBe(404);
      expect(JSON.parse(response.text).error.code).toBe('NOT_FOUND');
    }
  });
});
