import { SessionSigner, sessionSecret } from './sessions';

const acme = { tenant: 'acme', scopes: ['read', 'run'] as const, keyId: 'key_1', operator: false };

describe('console sessions', () => {
  let now = 1_000_000;
  const signer = new SessionSigner({ secret: Buffer.from('s'.repeat(32)), ttlMs: 60_000, now: () => now });

  test('a token carries the key it was opened with and ends after its time', () => {
    const { token, claims } = signer.issue(acme);

    expect(claims).toMatchObject({ tenant: 'acme', scopes: ['read', 'run'], keyId: 'key_1', expiresAt: 1_060_000 });
    expect(signer.verify(token)).toEqual(claims);
    now += 59_999;
    expect(signer.verify(token)).toEqual(claims);
    now += 1;
    expect(signer.verify(token)).toBeNull();
    now = 1_000_000;
  });

  test('a token changed in any way, or signed with another secret, is refused', () => {
    const { token } = signer.issue(acme);
    const [body, signature] = token.split('.') as [string, string];
    const forged = Buffer.from(
      JSON.stringify({ ...JSON.parse(Buffer.from(body, 'base64url').toString()), tenant: 'globex', operator: true }),
    ).toString('base64url');

    expect(signer.verify(`${forged}.${signature}`)).toBeNull();
    expect(signer.verify(`${body}.${signature.slice(0, -2)}xx`)).toBeNull();
    expect(signer.verify(`${body}.${signature}.extra`)).toBeNull();
    expect(signer.verify('not a token')).toBeNull();
    const other = new SessionSigner({ secret: Buffer.from('t'.repeat(32)), ttlMs: 60_000, now: () => now });
    expect(other.verify(token)).toBeNull();
  });

  test("the CSRF token is the session's own", () => {
    const first = signer.issue(acme).claims;
    const second = signer.issue(acme).claims;

    expect(signer.checkCsrf(first, signer.csrfToken(first))).toBe(true);
    expect(signer.checkCsrf(first, signer.csrfToken(second))).toBe(false);
    expect(signer.checkCsrf(first, undefined)).toBe(false);
    expect(signer.checkCsrf(first, '')).toBe(false);
  });

  test('a session is renewed past half its life', () => {
    const { claims } = signer.issue(acme);
    expect(signer.dueForRenewal(claims)).toBe(false);
    now += 30_001;
    expect(signer.dueForRenewal(claims)).toBe(true);
    now = 1_000_000;
  });

  test('the secret: SESSION_SECRET, else derived from the operator key, else random per process', () => {
    expect(sessionSecret('shared', 'admin')).toEqual(Buffer.from('shared'));
    expect(sessionSecret(undefined, 'admin')).toEqual(sessionSecret(undefined, 'admin'));
    expect(sessionSecret(undefined, 'admin')).not.toEqual(sessionSecret(undefined, 'other'));
    expect(sessionSecret(undefined, undefined)).not.toEqual(sessionSecret(undefined, undefined));
  });
});
