import type { NextFunction, Request, Response } from 'express';
import { HttpError } from '../http-error';

export interface AuthenticateOptions {
  /** The accepted API keys; with none, every request passes (a loopback-only gateway). */
  keys: string[];
}

/** Lets a request through when it carries one of the keys, as a bearer token or in `X-Api-Key`; else 401. */
export function authenticate({ keys }: AuthenticateOptions) {
  return (req: Request, _res: Response, next: NextFunction) => {
    if (keys.length === 0) return next();
    const bearer = /^Bearer\s+(.+)$/i.exec(req.header('authorization') ?? '')?.[1];
    const key = bearer ?? req.header('x-api-key');
    if (key !== undefined && keys.includes(key.trim())) return next();
    next(new HttpError(401, 'UNAUTHORIZED', 'Send a valid API key as "Authorization: Bearer <key>".'));
  };
}
