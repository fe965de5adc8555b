import { parse as parseCookies } from 'cookie';
import type { NextFunction, Request, Response } from 'express';
import { hasScope, type Principal, type Scope } from '../../domain/tenancy';
import { HttpError } from '../http-error';
import { OPEN_PRINCIPAL, type KeyResolver } from '../key-resolver';
import type { SessionClaims, SessionSigner } from '../sessions';

/** The cookie a console session lives in (HttpOnly, SameSite=Strict). */
export const SESSION_COOKIE = 'agent_session';
/** The header a console page sends its session's CSRF token in, with every request that changes something. */
export const CSRF_HEADER = 'x-csrf-token';
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** The key a request carries, as a bearer token or in `X-Api-Key`. */
function presentedKey(req: Request): string | undefined {
  const bearer = /^Bearer\s+(.+)$/i.exec(req.header('authorization') ?? '')?.[1];
  return (bearer ?? req.header('x-api-key'))?.trim() || undefined;
}

/** The session token in the request's cookie, if any. */
export function sessionToken(req: Request): string | undefined {
  const header = req.header('cookie');
  if (header === undefined) return undefined;
  return parseCookies(header)[SESSION_COOKIE] || undefined;
}

export interface AuthenticateOptions {
  resolver: KeyResolver;
  sessions: SessionSigner;
  /** Puts a renewed session in the response's cookie. */
  renew: (req: Request, res: Response, principal: Principal) => void;
}

/**
 * Finds who is calling and puts the principal in `res.locals.principal`: from an API key, or from a
 * console session's cookie whose key still stands. 401 for a missing key (where keys are required)
 * or one that is unknown, revoked or expired; 403 for a request through a session that changes
 * something without the session's CSRF token. A key in the request wins over a cookie.
 */
export function authenticate({ resolver, sessions, renew }: AuthenticateOptions) {
  return (req: Request, res: Response, next: NextFunction) => {
    const key = presentedKey(req);
    if (key !== undefined) {
      resolver.resolve(key).then((principal) => {
        if (principal === null) return next(unauthorized());
        res.locals.principal = principal;
        next();
      }, next);
      return;
    }
    const token = sessionToken(req);
    const claims = token === undefined ? null : sessions.verify(token);
    if (claims === null) {
      if (resolver.required) return next(unauthorized());
      res.locals.principal = OPEN_PRINCIPAL;
      return next();
    }
    resolver.confirm(claims).then((principal) => {
      if (principal === null) return next(unauthorized());
      if (!SAFE_METHODS.has(req.method) && !sessions.checkCsrf(claims, req.header(CSRF_HEADER))) {
        return next(
          new HttpError(
            403,
            'CSRF_FAILED',
            `A request through a console session must carry its ${CSRF_HEADER} header.`,
          ),
        );
      }
      res.locals.principal = principal;
      res.locals.session = claims;
      if (sessions.dueForRenewal(claims)) renew(req, res, principal);
      next();
    }, next);
  };
}

/** The console session a request came through, when it did. */
export function sessionOf(res: Response): SessionClaims | undefined {
  return res.locals.session as SessionClaims | undefined;
}

/** 403 unless the caller's key has `scope`. */
export function requireScope(scope: Scope) {
  return (_req: Request, res: Response, next: NextFunction) => {
    if (hasScope(principalOf(res), scope)) return next();
    next(new HttpError(403, 'FORBIDDEN', `This key lacks the "${scope}" scope.`, { scope }));
  };
}

/** The caller of a request that passed `authenticate`. */
export function principalOf(res: Response): Principal {
  const principal = res.locals.principal as Principal | undefined;
  if (!principal) throw new Error('principalOf called before authenticate');
  return principal;
}

function unauthorized(): HttpError {
  return new HttpError(401, 'UNAUTHORIZED', 'Send a valid API key as "Authorization: Bearer <key>".');
}
