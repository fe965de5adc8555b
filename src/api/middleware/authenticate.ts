import type { NextFunction, Request, Response } from 'express';
import { hasScope, type Principal, type Scope } from '../../domain/tenancy';
import { HttpError } from '../http-error';
import { OPEN_PRINCIPAL, type KeyResolver } from '../key-resolver';

/** The key a request carries, as a bearer token or in `X-Api-Key`. */
function presentedKey(req: Request): string | undefined {
  const bearer = /^Bearer\s+(.+)$/i.exec(req.header('authorization') ?? '')?.[1];
  return (bearer ?? req.header('x-api-key'))?.trim() || undefined;
}

/**
 * Finds who is calling and puts the principal in `res.locals.principal`: 401 for a missing key (where
 * keys are required) or a key that is unknown, revoked or expired.
 */
export function authenticate(resolver: KeyResolver) {
  return (req: Request, res: Response, next: NextFunction) => {
    const key = presentedKey(req);
    if (key === undefined) {
      if (resolver.required) return next(unauthorized());
      res.locals.principal = OPEN_PRINCIPAL;
      return next();
    }
    resolver.resolve(key).then((principal) => {
      if (principal === null) return next(unauthorized());
      res.locals.principal = principal;
      next();
    }, next);
  };
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
