import { mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import express from 'express';
import { consoleRoutes } from '../../src/api/console-files';
import { useHarness } from '../support/harness';

/** The cookie `name` as the gateway set it: its value and its attributes, lower-cased. */
function cookieFrom(headers: Headers, name: string): { value: string; attributes: string[] } | null {
  for (const line of headers.getSetCookie()) {
    const [pair, ...attributes] = line.split(';').map((part) => part.trim());
    const [key, value] = pair!.split('=');
    if (key === name) return { value: value ?? '', attributes: attributes.map((a) => a.toLowerCase()) };
  }
  return null;
}

describe('console sessions: an API key exchanged for a cookie', () => {
  const harness = useHarness({ model: false, env: { ADMIN_API_KEY: 'operator-key', SESSION_TTL_MINUTES: '30' } });
  let acmeKey: string;
  let acmeKeyId: string;

  beforeAll(async () => {
    const made = await harness.request(
      'POST',
      '/api/keys',
      { tenant: 'acme', name: 'console', scopes: ['read', 'run'] },
      { authorization: 'Bearer operator-key' },
    );
    acmeKey = made.body.secret as string;
    acmeKeyId = made.body.id as string;
  });

  const signIn = async (key: string) => {
    const response = await fetch(`${harness.baseUrl}/api/session`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ key }),
    });
    return { response, body: (await response.json()) as Record<string, unknown> };
  };

  test('signing in sets an HttpOnly, SameSite=Strict, short-lived cookie and says who is signed in', async () => {
    const { response, body } = await signIn(acmeKey);

    expect(response.status).toBe(200);
    expect(body).toMatchObject({ tenant: 'acme', scopes: ['read', 'run'], operator: false, keyId: acmeKeyId });
    expect(typeof body.csrfToken).toBe('string');
    const expiresIn = Date.parse(body.expiresAt as string) - Date.now();
    expect(expiresIn).toBeGreaterThan(29 * 60_000);
    expect(expiresIn).toBeLessThanOrEqual(30 * 60_000);
    const cookie = cookieFrom(response.headers, 'agent_session');
    expect(cookie).not.toBeNull();
    expect(cookie!.attributes).toEqual(
      expect.arrayContaining(['httponly', 'samesite=strict', 'path=/', 'max-age=1800']),
    );
    // Over plain HTTP the cookie cannot be Secure, or the browser would never send it back.
    expect(cookie!.attributes).not.toContain('secure');
    // Neither the key nor anything derived from it without the server's secret is in the cookie.
    expect(cookie!.value).not.toContain(acmeKey);
    expect(response.headers.get('cache-control')).toBe('no-store');
  });

  test('behind an HTTPS proxy the cookie is Secure', async () => {
    const response = await fetch(`${harness.baseUrl}/api/session`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-forwarded-proto': 'https' },
      body: JSON.stringify({ key: acmeKey }),
    });
    expect(cookieFrom(response.headers, 'agent_session')!.attributes).toContain('secure');
  });

  test('a wrong key, or none, is refused with the error shape', async () => {
    const wrong = await signIn('not-a-key');
    expect(wrong.response.status).toBe(401);
    expect(wrong.body).toEqual({
      error: { code: 'UNAUTHORIZED', message: 'That key is unknown, revoked or expired.' },
    });
    expect(cookieFrom(wrong.response.headers, 'agent_session')).toBeNull();
    const empty = await signIn('  ');
    expect(empty.response.status).toBe(422);
  });

  test('the cookie reads like the key; a change needs the CSRF token; another tenant stays hidden', async () => {
    const { response, body } = await signIn(acmeKey);
    const cookie = `agent_session=${cookieFrom(response.headers, 'agent_session')!.value}`;
    const csrf = body.csrfToken as string;
    const started = await harness.request(
      'POST',
      '/api/executions',
      { code: 'print(1)' },
      { authorization: `Bearer ${acmeKey}` },
    );
    const globex = await harness.request(
      'POST',
      '/api/executions',
      { code: 'print(2)' },
      { authorization: 'Bearer operator-key' },
    );

    const session = await harness.request('GET', '/api/session', undefined, { cookie });
    expect(session.status).toBe(200);
    expect(session.body).toMatchObject({ required: true, tenant: 'acme', csrfToken: csrf });
    const list = await harness.request('GET', '/api/executions', undefined, { cookie });
    expect(list.status).toBe(200);
    const ids = (list.body.executions as Array<{ id: string }>).map((run) => run.id);
    expect(ids).toContain(started.body.id);
    expect(ids).not.toContain(globex.body.id);
    expect((await harness.request('GET', `/api/executions/${globex.body.id}`, undefined, { cookie })).status).toBe(404);

    const withoutToken = await harness.request('POST', '/api/executions', { code: 'print(3)' }, { cookie });
    expect(withoutToken.status).toBe(403);
    expect(withoutToken.body.error.code).toBe('CSRF_FAILED');
    const wrongToken = await harness.request(
      'POST',
      '/api/executions',
      { code: 'print(3)' },
      { cookie, 'x-csrf-token': 'x' },
    );
    expect(wrongToken.status).toBe(403);
    const withToken = await harness.request(
      'POST',
      '/api/executions',
      { code: 'print(3)' },
      { cookie, 'x-csrf-token': csrf },
    );
    expect(withToken.status).toBe(202);
    const read = await harness.request('GET', `/api/executions/${withToken.body.id}`, undefined, {
      authorization: `Bearer ${acmeKey}`,
    });
    expect(read.body.tenant).toBe('acme');
  });

  test('a changed cookie is refused, and a revoked key ends its sessions at once', async () => {
    const made = await harness.request(
      'POST',
      '/api/keys',
      { tenant: 'acme', name: 'short', scopes: ['read'] },
      { authorization: 'Bearer operator-key' },
    );
    const { response } = await signIn(made.body.secret as string);
    const value = cookieFrom(response.headers, 'agent_session')!.value;
    const cookie = `agent_session=${value}`;
    expect((await harness.request('GET', '/api/executions', undefined, { cookie })).status).toBe(200);

    const tampered = `agent_session=${value.slice(0, -3)}abc`;
    expect((await harness.request('GET', '/api/executions', undefined, { cookie: tampered })).status).toBe(401);

    const revoked = await harness.request('DELETE', `/api/keys/${made.body.id}`, undefined, {
      authorization: 'Bearer operator-key',
    });
    expect(revoked.status).toBe(204);
    expect((await harness.request('GET', '/api/executions', undefined, { cookie })).status).toBe(401);
    const session = await harness.request('GET', '/api/session', undefined, { cookie });
    expect(session.status).toBe(401);
  });

  test('signing out clears the cookie', async () => {
    const response = await fetch(`${harness.baseUrl}/api/session`, { method: 'DELETE' });
    expect(response.status).toBe(204);
    const cleared = cookieFrom(response.headers, 'agent_session');
    expect(cleared).not.toBeNull();
    expect(cleared!.value).toBe('');
  });

  test('the console is served at / and at its own paths, with a strict content security policy', async () => {
    for (const page of ['/', '/runs', '/runs/exec-123']) {
      const response = await fetch(`${harness.baseUrl}${page}`);
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toMatch(/^text\/html/);
      expect(response.headers.get('content-security-policy')).toContain("default-src 'self'");
      const html = await response.text();
      expect(html).toContain('<div id="root"></div>');
      // Everything the page loads comes from the gateway.
      expect(html).not.toMatch(/(src|href)="https?:/);
    }
    const script = /src="(\/assets\/[^"]+\.js)"/.exec(await (await fetch(`${harness.baseUrl}/`)).text())![1]!;
    const asset = await fetch(`${harness.baseUrl}${script}`);
    expect(asset.status).toBe(200);
    expect(asset.headers.get('content-type')).toMatch(/javascript/);
    // API routes stay the API's, with the error shape.
    const api = await harness.request('GET', '/api/no-such-route');
    expect(api.status).toBe(401);
    const missingAsset = await fetch(`${harness.baseUrl}/assets/none.js`);
    expect(missingAsset.status).toBe(404);
  });
});

describe('the console without a build', () => {
  let server: Server;
  let dir: string;
  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'no-console-'));
    const app = express().use(consoleRoutes(dir));
    server = await new Promise<Server>((resolve) => {
      const listening = app.listen(0, '127.0.0.1', () => resolve(listening));
    });
  });
  afterAll(() => {
    server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('/ says how to build it', async () => {
    const response = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
    expect(response.status).toBe(503);
    expect(await response.text()).toContain('npm run build:console');
  });
});

describe('the console on an open gateway (loopback, no keys)', () => {
  const harness = useHarness({ model: false });

  test('needs no sign-in', async () => {
    const session = await harness.request('GET', '/api/session');
    expect(session.status).toBe(200);
    expect(session.body).toMatchObject({ required: false, csrfToken: null });
  });
});
