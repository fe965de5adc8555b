import type { NextFunction, Request, Response } from 'express';
import { HttpError } from '../http-error';
import { principalOf } from './authenticate';

export interface RateLimitOptions {
  /** Requests one key may make per minute; short bursts up to this many pass at once. */
  perMinute: number;
  now?: () => number;
}

/**
 * A token bucket per API key, in this gateway process: 429 with `Retry-After` (seconds) once a key
 * has used its requests. Several gateways each allow the full rate.
 */
export function rateLimit({ perMinute, now = Date.now }: RateLimitOptions) {
  const perMs = perMinute / 60_000;
  const buckets = new Map<string, { tokens: number; at: number }>();
  return (_req: Request, res: Response, next: NextFunction) => {
    const { keyId } = principalOf(res);
    const time = now();
    const bucket = buckets.get(keyId) ?? { tokens: perMinute, at: time };
    bucket.tokens = Math.min(perMinute, bucket.tokens + (time - bucket.at) * perMs);
    bucket.at = time;
    buckets.set(keyId, bucket);
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return next();
    }
    const retryAfter = Math.max(1, Math.ceil((1 - bucket.tokens) / perMs / 1000));
    res.setHeader('retry-after', String(retryAfter));
    next(new HttpError(429, 'RATE_LIMITED', `Too many requests for this key; try again in ${retryAfter} s.`));
  };
}
