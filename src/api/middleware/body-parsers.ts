import express, { type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import multer, { MulterError } from 'multer';
import { HttpError } from '../http-error';
import { MAX_FILES } from '../schemas';

export interface JsonBodyOptions {
  /** The largest file a submission may carry, once decoded. */
  maxFileBytes: number;
}

/** Parses JSON bodies, large enough for a file of `maxFileBytes` sent as base64. */
export function jsonBody({ maxFileBytes }: JsonBodyOptions): RequestHandler {
  // Base64 inflates files by a third; the per-file limit is checked again after decoding.
  return express.json({ limit: Math.ceil(maxFileBytes * 1.4) + 1024 * 1024 });
}

export interface MultipartBodyOptions {
  maxFileBytes: number;
  maxFiles?: number;
  maxFields?: number;
  maxFieldBytes?: number;
}

/**
 * Parses `multipart/form-data` into `req.body` (text fields) and `req.files` (in memory); other
 * bodies pass untouched. Limits the parser enforces surface as MulterError for the error handler.
 */
export function multipartBody({
  maxFileBytes,
  maxFiles = MAX_FILES,
  maxFields = 20,
  maxFieldBytes = 1024 * 1024,
}: MultipartBodyOptions): RequestHandler {
  const parse = multer({
    storage: multer.memoryStorage(),
    limits: { fileSize: maxFileBytes, files: maxFiles, fields: maxFields, fieldSize: maxFieldBytes },
  }).any();
  return (req: Request, res: Response, next: NextFunction) =>
    parse(req, res, (error?: unknown) => {
      if (error === undefined || error === null || error instanceof MulterError) return next(error);
      // Busboy's own errors (a boundary that does not match its header, a cut part) are the caller's
      // mistake: 400, not the parser's bare error.
      const reason = error instanceof Error ? error.message : String(error);
      next(new HttpError(400, 'BAD_MULTIPART', `The multipart body could not be read: ${reason}.`));
    });
}
