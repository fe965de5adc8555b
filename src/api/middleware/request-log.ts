import type { NextFunction, Request, Response } from 'express';
import type { Logger } from 'pino';
import type { HttpMetrics } from '../metrics';

export interface RequestLogOptions {
  logger: Logger;
  /** Counts every answered request by method, route pattern and status. */
  metrics?: HttpMetrics;
}

/**
 * Logs one line per answered request, with the id `requestId()` gave it, and counts it in the
 * metrics. Mount it after `requestId()`.
 */
export function requestLog({ logger, metrics }: RequestLogOptions) {
  return (req: Request, res: Response, next: NextFunction) => {
    const started = process.hrtime.bigint();
    res.on('finish', () => {
      const requestId = res.locals.requestId as string;
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      // The pattern, not the URL, so that the metrics have one series per route.
      const routePath = (req.route as { path?: string } | undefined)?.path ?? 'unmatched';
      metrics?.observe(req.method, routePath, res.statusCode, ms);
      logger.info({ requestId, method: req.method, url: req.originalUrl, status: res.statusCode, ms }, 'request');
    });
    next();
  };
}
