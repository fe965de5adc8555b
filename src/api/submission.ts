import type { Request } from 'express';
import { assertNever } from '../domain/assert-never';
import type { IncomingFile, Submission } from './execution-service';
import { badRequest, HttpError } from './http-error';
import { createExecutionSchema, optionsSchema, syncTaskSchema } from './schemas';

/**
 * The two ways to submit a task: `execution` is POST /api/executions (`task`, `code`, `plan`,
 * `files`); `sync` is the original POST /api/task/run/sync (`task_description`, `data_files`).
 */
export type SubmissionForm = 'execution' | 'sync';

const MAX_IDEMPOTENCY_KEY_CHARS = 255;

/**
 * Reads a submission from the request, a JSON body or a multipart one (run `multipartBody()` first):
 * checks its shape against the form's schema, decodes base64 files and adds the multipart ones.
 * What the deployment offers (sandboxes, a model) and the files themselves are checked when the
 * service starts it.
 * @throws HttpError 415 for another content type, 400 for a multipart field that is not JSON or an
 *   overlong Idempotency-Key, 422 for base64 that is not; ZodError for a body of the wrong shape.
 */
export function readSubmission(req: Request, form: SubmissionForm): Submission {
  switch (form) {
    case 'execution': {
      const { fields, multipartFiles } = readBody(req, 'files');
      const body = createExecutionSchema.parse(fields);
      return {
        task: body.task ?? null,
        code: body.code ?? null,
        plan: body.plan,
        files: [...body.files.map(decodeFile), ...multipartFiles],
        options: body.options,
        triggeredBy: body.triggeredBy,
        idempotencyKey: idempotencyKey(req),
      };
    }
    case 'sync': {
      const { fields, multipartFiles } = readBody(req, 'data_files');
      const body = syncTaskSchema.parse(fields);
      return {
        task: body.task_description,
        code: null,
        plan: undefined,
        files: [...body.data_files.map(decodeFile), ...multipartFiles],
        options: body.options ?? optionsSchema.parse({}),
        triggeredBy: body.triggeredBy,
        idempotencyKey: idempotencyKey(req),
      };
    }
    default:
      return assertNever(form, 'submission form');
  }
}

/** The body's fields, with the JSON that multipart text fields carry parsed, and the multipart files. */
function readBody(req: Request, fileField: 'files' | 'data_files') {
  const body = (req.body ?? {}) as Record<string, unknown>;
  if (req.is('multipart/form-data')) {
    const uploaded = (req.files as Express.Multer.File[] | undefined) ?? [];
    const fields: Record<string, unknown> = { ...body };
    for (const key of ['options', 'plan', fileField]) if (key in fields) fields[key] = jsonField(fields[key], key);
    const multipartFiles: IncomingFile[] = uploaded.map((file) => ({ name: file.originalname, data: file.buffer }));
    return { fields, multipartFiles };
  }
  if (!req.is('application/json')) {
    throw new HttpError(415, 'UNSUPPORTED_MEDIA_TYPE', 'Send application/json or multipart/form-data.');
  }
  return { fields: body, multipartFiles: [] as IncomingFile[] };
}

/** Multipart text fields that carry JSON (options, plan) arrive as strings. */
function jsonField(value: unknown, field: string): unknown {
  if (typeof value !== 'string') return value;
  try {
    return JSON.parse(value);
  } catch {
    throw badRequest(`The multipart field "${field}" is not valid JSON.`);
  }
}

/** A JSON-body file, its base64 content decoded strictly. */
export const decodeFile = (file: { name: string; content: string }): IncomingFile => ({
  name: file.name,
  data: decodeBase64(file.name, file.content),
});

/** Reads a base64 `content` field strictly: Node's decoder silently skips bad characters. */
function decodeBase64(name: string, content: string): Buffer {
  const compact = content.replace(/\s+/g, '');
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(compact) || compact.length % 4 === 1) {
    throw new HttpError(422, 'INVALID_FILE_CONTENT', `The content of ${JSON.stringify(name)} is not valid base64.`);
  }
  return Buffer.from(compact, 'base64');
}

/** The request's Idempotency-Key, or null; 400 when it is too long. */
export function idempotencyKey(req: Request): string | null {
  const key = req.header('idempotency-key');
  if (key === undefined || key.trim() === '') return null;
  if (key.length > MAX_IDEMPOTENCY_KEY_CHARS) {
    throw badRequest(`The Idempotency-Key header is longer than ${MAX_IDEMPOTENCY_KEY_CHARS} characters.`);
  }
  return key.trim();
}
