/**
 * Every failure the SDK reports is an AirmyError. An answer the server gave is an APIError of the
 * class its status maps to (one factory, `makeAPIError`), carrying the envelope's type, code,
 * message, param and the request id; a failure to get an answer is an APIConnectionError (or its
 * subclass APITimeoutError).
 */

export class AirmyError extends Error {
  override name = 'AirmyError';
}

/** The server's error envelope: `{"error": {type, code, message, param?, request_id}}`. */
export interface ErrorBody {
  type?: string;
  code?: string;
  message?: string;
  param?: string;
  request_id?: string;
}

export class APIError extends AirmyError {
  override name = 'APIError';
  /** HTTP status of the answer */
  readonly status: number;
  readonly headers: Headers;
  /** the envelope's error type, e.g. `invalid_request_error` */
  readonly type: string | undefined;
  /** the stable error code, e.g. `agent_not_found` */
  readonly code: string | undefined;
  /** the offending request field, when the server named one */
  readonly param: string | undefined;
  /** `Request-Id` of the answer (`req_…`): quote it when you report a problem */
  readonly requestID: string | undefined;
  /** the parsed body (or its text when it was not JSON) */
  readonly body: unknown;

  constructor(status: number, body: unknown, headers: Headers, message?: string) {
    const err = errorFields(body);
    const requestID = headers.get('request-id') ?? err.request_id;
    super(
      message ??
        `${status}${err.code ? ` ${err.code}` : ''}: ${err.message ?? (typeof body === 'string' && body ? body : 'no message')}${requestID ? ` (request ${requestID})` : ''}`,
    );
    this.status = status;
    this.headers = headers;
    this.type = err.type;
    this.code = err.code;
    this.param = err.param;
    this.requestID = requestID ?? undefined;
    this.body = body;
  }
}

export class BadRequestError extends APIError {
  override name = 'BadRequestError';
}
export class AuthenticationError extends APIError {
  override name = 'AuthenticationError';
}
export class PermissionDeniedError extends APIError {
  override name = 'PermissionDeniedError';
}
export class NotFoundError extends APIError {
  override name = 'NotFoundError';
}
export class ConflictError extends APIError {
  override name = 'ConflictError';
}
export class UnprocessableEntityError extends APIError {
  override name = 'UnprocessableEntityError';
}
export class RateLimitError extends APIError {
  override name = 'RateLimitError';
  /** seconds the server asked to wait (`Retry-After`), when it said */
  get retryAfter(): number | undefined {
    const s = Number(this.headers.get('retry-after'));
    return Number.isFinite(s) && s > 0 ? s : undefined;
  }
}
export class InternalServerError extends APIError {
  override name = 'InternalServerError';
}

export class APIConnectionError extends AirmyError {
  override name = 'APIConnectionError';
  constructor(message = 'Connection error.', options?: { cause?: unknown }) {
    super(message, options);
  }
}
export class APITimeoutError extends APIConnectionError {
  override name = 'APITimeoutError';
  constructor(message = 'Request timed out.') {
    super(message);
  }
}
/** The caller aborted the request (its AbortSignal fired, or a stream was closed). Never retried. */
export class APIUserAbortError extends AirmyError {
  override name = 'APIUserAbortError';
  constructor(message = 'Request was aborted.') {
    super(message);
  }
}

/** The one place a status becomes an error class. */
export function makeAPIError(status: number, body: unknown, headers: Headers): APIError {
  if (status === 400) return new BadRequestError(status, body, headers);
  if (status === 401) return new AuthenticationError(status, body, headers);
  if (status === 403) return new PermissionDeniedError(status, body, headers);
  if (status === 404) return new NotFoundError(status, body, headers);
  if (status === 409) return new ConflictError(status, body, headers);
  if (status === 422) return new UnprocessableEntityError(status, body, headers);
  if (status === 429) return new RateLimitError(status, body, headers);
  if (status >= 500) return new InternalServerError(status, body, headers);
  return new APIError(status, body, headers);
}

export function errorFields(body: unknown): ErrorBody {
  const err = (body as { error?: unknown } | null)?.error;
  return err && typeof err === 'object' ? (err as ErrorBody) : {};
}
