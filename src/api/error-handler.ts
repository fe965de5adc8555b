import { WorkflowNotFoundError } from '@temporalio/client';
import type { NextFunction, Request, Response } from 'express';
import { MulterError } from 'multer';
import type { Logger } from 'pino';
import { ZodError } from 'zod';
import { ArtifactIntegrityError, ArtifactStoreUnavailableError, UnsafePathError } from '../storage/artifact-store';
import { HttpError } from './http-error';

const UNAVAILABLE = 14;
const DEADLINE_EXCEEDED = 4;

/** True when the error, or one of its causes, says the Temporal server did not answer. */
function isTemporalOutage(error: unknown): boolean {
  for (let current = error, depth = 0; current && depth < 5; depth++) {
    const code = (current as { code?: unknown }).code;
    if (code === UNAVAILABLE || code === DEADLINE_EXCEEDED) return true;
    if (current instanceof Error && /connect|UNAVAILABLE|ECONNREFUSED/i.test(current.message)) {
      if (current.name === 'ServiceError' || current.name === 'TransportError') return true;
    }
    current = (current as { cause?: unknown }).cause;
  }
  return false;
}

/** Turns any error into the contract's body; never a stack trace to the client. */
export function toHttpError(error: unknown): HttpError {
  if (error instanceof HttpError) return error;
  if (error instanceof ZodError) {
    return new HttpError(
      422,
      'VALIDATION_FAILED',
      error.issues.map((issue) => `${issue.path.join('.') || 'body'}: ${issue.message}`).join('; '),
      { issues: error.issues.map((issue) => ({ path: issue.path.join('.'), message: issue.message })) },
    );
  }
  if (error instanceof MulterError) {
    if (error.code === 'LIMIT_FILE_SIZE') return new HttpError(413, 'FILE_TOO_LARGE', 'A file is larger than allowed.');
    return new HttpError(400, 'BAD_MULTIPART', `The multipart body was refused: ${error.message}.`);
  }
  if (error instanceof WorkflowNotFoundError) return new HttpError(404, 'NOT_FOUND', 'No such execution.');
  if (error instanceof UnsafePathError) return new HttpError(404, 'NOT_FOUND', 'No such file.');
  if (error instanceof ArtifactStoreUnavailableError) {
    return new HttpError(503, 'ARTIFACT_STORE_UNAVAILABLE', 'The file store cannot be reached; try again shortly.');
  }
  if (error instanceof ArtifactIntegrityError) {
    return new HttpError(500, 'ARTIFACT_CORRUPT', 'The stored file no longer matches its checksum.');
  }
  const bodyError = error as { type?: string; status?: number };
  if (bodyError.type === 'entity.parse.failed') {
    return new HttpError(400, 'MALFORMED_JSON', 'The request body is not valid JSON.');
  }
  if (bodyError.type === 'entity.too.large') {
    return new HttpError(413, 'PAYLOAD_TOO_LARGE', 'The request body is larger than allowed.');
  }
  if (typeof bodyError.status === 'number' && bodyError.status >= 400 && bodyError.status < 500) {
    return new HttpError(bodyError.status, 'BAD_REQUEST', 'The request could not be read.');
  }
  if (isTemporalOutage(error)) {
    return new HttpError(503, 'TEMPORAL_UNAVAILABLE', 'The Temporal server cannot be reached; try again shortly.');
  }
  return new HttpError(500, 'INTERNAL', 'Something went wrong on our side; the request id identifies it in the logs.');
}

export function errorHandler(logger: Logger) {
  return (error: unknown, req: Request, res: Response, _next: NextFunction) => {
    const http = toHttpError(error);
    if (http.status >= 500) {
      logger.error({ err: error, requestId: res.getHeader('x-request-id'), url: req.originalUrl }, 'request failed');
    }
    if (res.headersSent) {
      res.destroy();
      return;
    }
    res.status(http.status).json({
      error: {
        code: http.code,
        message: http.message,
        ...(http.details === undefined ? {} : { details: http.details }),
      },
    });
  };
}
