import express, { type RequestHandler } from 'express';
import type { ExecutionSnapshot } from '../../domain/types';
import type { ExecutionService } from '../execution-service';
import type { HttpMetrics } from '../metrics';
import { readSubmission } from '../submission';
import { principalOf, requireScope } from '../middleware/authenticate';
import { route } from './route';

export interface SyncRoutesDeps {
  /** Acting for the caller of each request: `executions.for(principal)`. */
  executions: ExecutionService;
  metrics: HttpMetrics;
  /** The multipart parser, `multipartBody()`. */
  multipart: RequestHandler;
}

/** POST /task/run/sync: the original single-call interface, which answers once the execution has ended. */
export function syncRoutes({ executions, metrics, multipart }: SyncRoutesDeps): express.Router {
  const router = express.Router();
  router.post(
    '/task/run/sync',
    requireScope('run'),
    multipart,
    route(async (req, res) => {
      const service = executions.for(principalOf(res));
      const submission = readSubmission(req, 'sync');
      const started = await service.submit(submission);
      if (started.created) metrics.executionStarted(submission.triggeredBy);
      const snapshot = await service.waitForEnd(started.id);
      res.json(await syncResponse(service, snapshot));
    }),
  );
  return router;
}

/**
 * The answer of the original single-call interface: the plots as base64 PNGs, and `logs`, the stdout
 * of every attempt of every step that printed anything, in order, joined by newlines.
 */
export async function syncResponse(service: ExecutionService, snapshot: ExecutionSnapshot) {
  const succeeded = snapshot.status === 'succeeded';
  const plots = await Promise.all(
    (snapshot.result?.outputs.plots ?? []).map(async (plot) =>
      (await service.read(snapshot.id, plot.key)).toString('base64'),
    ),
  );
  const logs = snapshot.steps
    .flatMap((step) => step.attempts.map((attempt) => attempt.stdout))
    .filter((text) => text !== '')
    .join('\n');
  return {
    executionId: snapshot.id,
    status: succeeded ? 'success' : 'error',
    success: succeeded,
    analysis: snapshot.result?.analysis ?? null,
    outputs: { plots, data: snapshot.result?.outputs.data ?? null },
    logs,
    attempts: snapshot.steps.flatMap((step) =>
      step.attempts.map((attempt) => ({
        stepId: step.id,
        n: attempt.n,
        author: attempt.author,
        status: attempt.status,
      })),
    ),
    error: succeeded ? null : (snapshot.error?.message ?? `execution ended ${snapshot.status}`),
    files: (snapshot.result?.files ?? []).map((file) => file.name),
  };
}
