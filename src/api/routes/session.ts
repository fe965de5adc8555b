import express from 'express';
import type { Request, Response } from 'express';
import { z } from 'zod';
import type { Principal } from '../../domain/tenancy';
import { HttpError } from '../http-error';
import type { KeyResolver } from '../key-resolver';
import { SESSION_COOKIE, sessionToken } from '../middleware/authenticate';
import type { SessionClaims, SessionSigner } from '../sessions';
import { route } from './route';

export interface SessionRoutesDeps {
  resolver: KeyResolver;
  sessions: SessionSigner;
  /** `auto`: the cookie is Secure when the request came over HTTPS (directly or, as a proxy says, to it). */
  cookieSecure: 'auto' | 'true' | 'false';
}

const signInSchema = z.object({ key: z.string().trim().min(1, 'an API key is required') }).strict();

/** What a page learns about its session: never the key, nor the token itself (it is HttpOnly). */
function describe(sessions: SessionSigner, claims: SessionClaims | null, principal: Principal) {
  return {
    tenant: principal.tenant,
    scopes: principal.scopes,
    operator: principal.operator,
    keyId: principal.keyId,
    expiresAt: claims === null ? null : new Date(claims.expiresAt).toISOString(),
    csrfToken: claims === null ? null : sessions.csrfToken(claims),
  };
}

/**
 * The console's sign-in, mounted before authentication: an API key, sent once in a body (never in a
 * URL, which would end up in logs), is exchanged for a signed, short-lived session in an HttpOnly,
 * SameSite=Strict cookie. Event streams, plots and downloads then work in the browser, and every
 * request that changes something carries the session's CSRF token.
 */
export function sessionRoutes({ resolver, sessions, cookieSecure }: SessionRoutesDeps) {
  const router = express.Router();

  const secure = (req: Request) =>
    cookieSecure === 'true' || (cookieSecure === 'auto' && (req.secure || req.header('x-forwarded-proto') === 'https'));

  /** Opens (or renews) a session for `principal` and returns its claims. */
  const open = (req: Request, res: Response, principal: Principal): SessionClaims => {
    const { token, claims } = sessions.issue(principal);
    res.cookie(SESSION_COOKIE, token, {
      httpOnly: true,
      sameSite: 'strict',
      secure: secure(req),
      path: '/',
      maxAge: sessions.ttlMs,
    });
    // The new CSRF token, for a page whose session was just renewed under it.
    res.setHeader('x-csrf-token', sessions.csrfToken(claims));
    return claims;
  };

  router.post(
    '/session',
    express.json({ limit: '8kb' }),
    route(async (req, res) => {
      const { key } = signInSchema.parse(req.body ?? {});
      const principal = await resolver.resolve(key);
      if (principal === null) throw new HttpError(401, 'UNAUTHORIZED', 'That key is unknown, revoked or expired.');
      const claims = open(req, res, principal);
      res.setHeader('cache-control', 'no-store');
      res.json(describe(sessions, claims, principal));
    }),
  );

  router.get(
    '/session',
    route(async (req, res) => {
      res.setHeader('cache-control', 'no-store');
      const token = sessionToken(req);
      const claims = token === undefined ? null : sessions.verify(token);
      const principal = claims === null ? null : await resolver.confirm(claims);
      if (claims !== null && principal !== null) {
        res.json({ required: resolver.required, ...describe(sessions, claims, principal) });
        return;
      }
      if (!resolver.required) {
        // An open gateway (loopback, no keys): the console needs no sign-in.
        res.json({
          required: false,
          tenant: 'default',
          scopes: ['read', 'run', 'admin'],
          operator: true,
          keyId: 'anonymous',
          expiresAt: null,
          csrfToken: null,
        });
        return;
      }
      if (token !== undefined) res.clearCookie(SESSION_COOKIE, { path: '/' });
      throw new HttpError(401, 'UNAUTHORIZED', 'Sign in with an API key.');
    }),
  );

  router.delete('/session', (_req, res) => {
    res.clearCookie(SESSION_COOKIE, { path: '/' });
    res.status(204).end();
  });

  return { router, open };
}
