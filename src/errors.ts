/**
 * The API's error vocabulary. Services throw these; exactly one place (src/http/error-handler.ts)
 * turns them into the HTTP envelope. `status` is carried here so that the mapping is data, not a
 * chain of instanceof checks, and every class has a stable machine-readable `code`.
 */

export const ErrorTypes = {
  invalid_request: 'invalid_request_error',
  authentication: 'authentication_error',
  permission: 'permission_error',
  not_found: 'not_found_error',
  conflict: 'conflict_error',
  rate_limit: 'rate_limit_error',
  api: 'api_error',
} as const;
export type ErrorType = (typeof ErrorTypes)[keyof typeof ErrorTypes];

export interface ApiErrorOptions {
  param?: string;
  cause?: unknown;
  headers?: Record<string, string>;
}

export class ApiError extends Error {
  readonly status: number;
  readonly type: ErrorType;
  readonly code: string;
  readonly param: string | undefined;
  readonly headers: Record<string, string>;

  constructor(status: number, type: ErrorType, code: string, message: string, options: ApiErrorOptions = {}) {
    super(message, { cause: options.cause });
    this.name = 'ApiError';
    this.status = status;
    this.type = type;
    this.code = code;
    this.param = options.param;
    this.headers = options.headers ?? {};
  }
}

/** A 404 of ours: "no such thing" (and nothing else: an outage met on the way is not one). */
export const isNotFound = (err: unknown): boolean => err instanceof ApiError && err.status === 404;

export const badRequest = (code: string, message: string, param?: string) =>
  new ApiError(400, ErrorTypes.invalid_request, code, message, { param });

export const unauthorized = (code: string, message: string) =>
  new ApiError(401, ErrorTypes.authentication, code, message);

export const forbidden = (code: string, message: string) =>
  new ApiError(403, ErrorTypes.permission, code, message);

export const notFound = (what: string, id?: string, param?: string) =>
  new ApiError(
    404,
    ErrorTypes.not_found,
    'resource_missing',
    id ? `No such ${what}: '${id}'` : `No such ${what}`,
    {
      param,
    },
  );

export const unprocessable = (code: string, message: string, param?: string) =>
  new ApiError(422, ErrorTypes.invalid_request, code, message, { param });

export const conflict = (code: string, message: string) =>
  new ApiError(409, ErrorTypes.conflict, code, message);

export const rateLimited = (retryAfterSeconds: number) =>
  new ApiError(
    429,
    ErrorTypes.rate_limit,
    'rate_limit_exceeded',
    `Too many requests. Retry after ${retryAfterSeconds} s.`,
    {
      headers: { 'retry-after': String(retryAfterSeconds) },
    },
  );

export const unavailable = (code: string, message: string) =>
  new ApiError(503, ErrorTypes.api, code, message);

/** The same answer Fastify's content-type check gets (see http/error-handler.ts). */
export const unsupportedMediaType = () =>
  new ApiError(
    415,
    ErrorTypes.invalid_request,
    'unsupported_media_type',
    'Content-Type must be application/json',
  );
