/** An error the gateway answers with `status` and the JSON body of the error contract. */
export class HttpError extends Error {
  override readonly name = 'HttpError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
  }
}

export const badRequest = (message: string, details?: unknown) => new HttpError(400, 'BAD_REQUEST', message, details);
export const notFound = (message: string) => new HttpError(404, 'NOT_FOUND', message);
export const invalidTransition = (message: string, details?: unknown) =>
  new HttpError(409, 'INVALID_STATE_TRANSITION', message, details);
export const unprocessable = (code: string, message: string, details?: unknown) =>
  new HttpError(422, code, message, details);
export const temporalUnavailable = () =>
  new HttpError(503, 'TEMPORAL_UNAVAILABLE', 'The Temporal server cannot be reached; try again shortly.');
