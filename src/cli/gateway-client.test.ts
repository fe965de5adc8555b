import { gatewayError, networkReason } from './gateway-client';

describe('reading the gateway error shape', () => {
  test("the gateway's code and message, on one line", () => {
    const body = JSON.stringify({ error: { code: 'NOT_FOUND', message: 'No such\nexecution.' } });
    expect(gatewayError(404, body)).toEqual({ code: 'NOT_FOUND', message: 'No such execution.' });
  });

  test('another body says that it is not the gateway answering', () => {
    expect(gatewayError(502, '<html>Bad gateway</html>')).toEqual({
      code: 'HTTP_ERROR',
      message: "The server answered 502 without the gateway's error body",
    });
    expect(gatewayError(500, JSON.stringify({ error: 'x' })).code).toBe('HTTP_ERROR');
  });
});

describe('why the gateway could not be reached', () => {
  test('the system error code of the cause, in words', () => {
    const refused = new TypeError('fetch failed', {
      cause: Object.assign(new Error('connect'), { code: 'ECONNREFUSED' }),
    });
    expect(networkReason(refused)).toBe('connection refused (ECONNREFUSED)');
    const odd = new TypeError('fetch failed', { cause: Object.assign(new Error('x'), { code: 'EWHATEVER' }) });
    expect(networkReason(odd)).toBe('EWHATEVER');
  });

  test('without a code, the deepest message; a timeout says so', () => {
    expect(networkReason(new TypeError('fetch failed', { cause: new Error('bad port') }))).toBe('bad port');
    expect(networkReason(new DOMException('timed out', 'TimeoutError'))).toBe('no answer in time');
  });
});
