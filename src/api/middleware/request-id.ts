import type { NextFunction, Request, Response } from 'express';
import { randomUUID } from 'node:crypto';

export interface RequestIdOptions {
  /** The header read from the request and set on the response. */
  header?: string;
  /** Longest incoming id accepted as it is. */
  maxLength?: number;
  /** Makes a new id when the incoming one is missing or refused. */
  generate?: () => string;
}

const PLAIN = /^[A-Za-z0-9._-]+$/;

/**
 * Gives every request an id, in `res.locals.requestId` and the response header. An incoming id is
 * kept only when it is short and plain, so that no caller can put arbitrary text into our logs and
 * headers; otherwise a new one is made.
 */
export function requestId(options: RequestIdOptions = {}) {
  const header = options.header ?? 'x-request-id';
  const maxLength = options.maxLength ?? 128;
  const generate = options.generate ?? randomUUID;
  return (req: Request, res: Response, next: NextFunction) => {
    const incoming = req.header(header);
    const id = incoming !== undefined && incoming.length <= maxLength && PLAIN.test(incoming) ? incoming : generate();
    res.locals.requestId = id;
    res.setHeader(header, id);
    next();
  };
}
