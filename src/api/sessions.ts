import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Principal, Scope } from '../domain/tenancy';

/** What a console session stands for: the key it was opened with, never the key's secret. */
export interface SessionClaims {
  tenant: string;
  scopes: Scope[];
  keyId: string;
  operator: boolean;
  /** When it ends, in ms since the epoch. */
  expiresAt: number;
  /** Unique per session: what its CSRF token is made from. */
  nonce: string;
}

export interface SessionSignerOptions {
  secret: Buffer;
  ttlMs: number;
  now?: () => number;
}

const base64url = (data: Buffer | string) => Buffer.from(data).toString('base64url');

/**
 * Signs and checks session tokens: `<claims as base64url JSON>.<HMAC-SHA256 of them>`. A token is
 * valid until `expiresAt`; its CSRF token is the HMAC of its nonce, so that only a page that read it
 * from the gateway (same origin) can send it back.
 */
export class SessionSigner {
  private readonly now: () => number;

  constructor(private readonly options: SessionSignerOptions) {
    this.now = options.now ?? Date.now;
  }

  get ttlMs(): number {
    return this.options.ttlMs;
  }

  issue(principal: Principal): { token: string; claims: SessionClaims } {
    const claims: SessionClaims = {
      tenant: principal.tenant,
      scopes: [...principal.scopes],
      keyId: principal.keyId,
      operator: principal.operator,
      expiresAt: this.now() + this.options.ttlMs,
      nonce: randomBytes(16).toString('base64url'),
    };
    const body = base64url(JSON.stringify(claims));
    return { token: `${body}.${this.sign(body)}`, claims };
  }

  /** The claims of a token this signer made that has not expired; null for anything else. */
  verify(token: string): SessionClaims | null {
    const [body, signature, ...rest] = token.split('.');
    if (body === undefined || signature === undefined || rest.length > 0) return null;
    if (!sameText(signature, this.sign(body))) return null;
    let claims: SessionClaims;
    try {
      claims = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as SessionClaims;
    } catch {
      return null;
    }
    if (typeof claims.expiresAt !== 'number' || claims.expiresAt <= this.now()) return null;
    return claims;
  }

  csrfToken(claims: SessionClaims): string {
    return this.sign(`csrf.${claims.nonce}`);
  }

  checkCsrf(claims: SessionClaims, presented: string | undefined): boolean {
    return presented !== undefined && sameText(presented, this.csrfToken(claims));
  }

  /** Past half its life a session is renewed, so that one in use does not end under its user. */
  dueForRenewal(claims: SessionClaims): boolean {
    return claims.expiresAt - this.now() < this.options.ttlMs / 2;
  }

  private sign(text: string): string {
    return createHmac('sha256', this.options.secret).update(text).digest('base64url');
  }
}

function sameText(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

/**
 * The key sessions are signed with: SESSION_SECRET when set (the same on every gateway), else one
 * derived from ADMIN_API_KEY (also the same everywhere), else a random one that lives as long as this
 * process: sessions then end when the gateway restarts, and other gateways do not accept them.
 */
export function sessionSecret(sessionSecretSetting: string | undefined, adminKey: string | undefined): Buffer {
  if (sessionSecretSetting !== undefined) return Buffer.from(sessionSecretSetting);
  if (adminKey !== undefined)
    return createHmac('sha256', adminKey).update('agent-executions console sessions').digest();
  return randomBytes(32);
}
