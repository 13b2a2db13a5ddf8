/**
 * The one place where errors become HTTP. Services throw ApiError (src/errors.ts); Fastify's own
 * errors (validation, body parsing, size, media type) are translated here too, so every error a
 * client ever sees has the same envelope and carries the request id. An unexpected 5xx is reported
 * (src/error-reports/: stored under a fingerprint, logged, counted, traced) before it is answered,
 * and its body says so, names the request id and nothing about internals.
 *
 * Every error answer also says whether a retry can help (`x-should-retry`, the header Stainless
 * SDKs honour): no for the client's own mistakes, yes for contention, rate limits and outages.
 */
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ApiError, badRequest, ErrorTypes } from '../errors.ts';
import { DATABASE_RETRY_AFTER_S, isDatabaseUnavailable } from '../infra/db/unavailable.ts';

interface ValidationIssue {
  keyword: string;
  instancePath: string;
  params: Record<string, unknown>;
  message?: string;
}

function jsonPointerToParam(pointer: string): string {
  return pointer
    .split('/')
    .slice(1)
    .map((part) => part.replace(/~1/g, '/').replace(/~0/g, '~'))
    .reduce((acc, part) => (/^\d+$/.test(part) ? `${acc}[${part}]` : acc ? `${acc}.${part}` : part), '');
}

function fromValidation(issues: ValidationIssue[], context: string | undefined): ApiError {
  const issue = issues[0];
  const base = jsonPointerToParam(issue.instancePath);
  const join = (child: string) => (base ? `${base}.${child}` : child);
  const where =
    context === 'querystring' ? 'query parameter' : context === 'params' ? 'path parameter' : 'field';
  switch (issue.keyword) {
    case 'additionalProperties': {
      const name = join(String(issue.params.additionalProperty));
      return badRequest('parameter_unknown', `Unknown ${where}: ${name}`, name);
    }
    case 'required': {
      const name = join(String(issue.params.missingProperty));
      return badRequest('parameter_missing', `Missing required ${where}: ${name}`, name);
    }
    default: {
      const name = base || (context === 'body' ? 'body' : context);
      return badRequest(
        'parameter_invalid',
        `Invalid ${where} ${name}: ${issue.message ?? 'invalid value'}`,
        name,
      );
    }
  }
}

/** Fastify's own errors that are the client's fault, mapped to our codes. */
function fromFastify(error: FastifyError): ApiError | null {
  switch (error.code) {
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new ApiError(
        415,
        ErrorTypes.invalid_request,
        'unsupported_media_type',
        'Content-Type must be application/json',
      );
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new ApiError(
        413,
        ErrorTypes.invalid_request,
        'body_too_large',
        'Request body exceeds the 1 MiB limit',
      );
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return badRequest('invalid_json', 'Body is empty but Content-Type is application/json');
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return badRequest('invalid_json', 'Body is not valid JSON');
  }
  // the body parser's (it sets the 400); a SyntaxError from anywhere else (JSON.parse of a stored
  // value) is a bug, answered 500 and reported
  if (error instanceof SyntaxError && error.statusCode === 400)
    return badRequest('invalid_json', 'Body is not valid JSON');
  const status = error.statusCode ?? 500;
  if (status >= 400 && status < 500) {
    return new ApiError(status, ErrorTypes.invalid_request, 'invalid_request', error.message);
  }
  return null;
}

export function toApiError(error: unknown): ApiError | null {
  if (error instanceof ApiError) return error;
  const e = error as FastifyError;
  if (Array.isArray(e?.validation))
    return fromValidation(e.validation as ValidationIssue[], e.validationContext);
  // Postgres went away under the request (infra/db/unavailable.ts): an outage, not a bug
  if (isDatabaseUnavailable(error))
    return new ApiError(
      503,
      ErrorTypes.api,
      'service_unavailable',
      'The database is unreachable; retry shortly',
      { headers: { 'retry-after': String(DATABASE_RETRY_AFTER_S) } },
    );
  return typeof e === 'object' && e !== null ? fromFastify(e) : null;
}

/**
 * Whether the same request, sent again unchanged, can succeed: a 409 is a race (a write in flight,
 * a concurrent update) unless its code says otherwise; 408, 429 and 5xx are transient; every other
 * 4xx will fail the same way.
 */
export function shouldRetry(status: number, code: string): boolean {
  if (status === 409) return code === 'idempotency_key_in_use' || code.endsWith('_modified');
  return status === 408 || status === 429 || status >= 500;
}

/** Sends `err` as the envelope, with its headers and x-should-retry. */
export function sendError(reply: FastifyReply, err: ApiError, requestId: string) {
  for (const [name, value] of Object.entries(err.headers)) reply.header(name, value);
  reply.header('x-should-retry', String(shouldRetry(err.status, err.code)));
  return reply.code(err.status).send(errorBody(err, requestId));
}

export function errorBody(err: ApiError, requestId: string) {
  return {
    error: {
      type: err.type,
      code: err.code,
      message: err.message,
      ...(err.param !== undefined ? { param: err.param } : {}),
      request_id: requestId,
    },
  };
}

/**
 * Which 5xx are errors to report (src/error-reports/): every unexpected one — anything that is not
 * an ApiError (a bug: answered 500 `internal_error`), and an ApiError of 5xx status other than 503.
 * A 503 is deliberate: the server draining for a restart, shedding load, a dependency it says is
 * down, each answered with Retry-After; reporting those would bury the bugs in a restart's noise.
 */
export const isReportedStatus = (status: number) => status >= 500 && status !== 503;

/** The message of a reported 5xx: it says so, and names the id to quote (the reference: "Reported automatically"). */
export const reportedMessage = (requestId: string, message = 'Something went wrong on our end.') =>
  `${message} Reported automatically as ${requestId}.`;

/**
 * `onReportedError`: an unexpected error is about to be answered (see isReportedStatus); the answer
 * waits for the promise it returns (the report being stored), which must never reject.
 */
export function installErrorHandler(
  app: FastifyInstance,
  onReportedError: (request: FastifyRequest, error: unknown, status: number) => Promise<void> | undefined,
) {
  app.setErrorHandler((error: unknown, request: FastifyRequest, reply: FastifyReply) => {
    const apiError = toApiError(error);
    if (apiError && !isReportedStatus(apiError.status)) {
      request.log.warn({ code: apiError.code, status: apiError.status }, apiError.message);
      return sendError(reply, apiError, request.id);
    }
    // logged by the reporter, redacted, with its fingerprint
    const answer = apiError
      ? new ApiError(
          apiError.status,
          apiError.type,
          apiError.code,
          reportedMessage(request.id, apiError.message),
          {
            param: apiError.param,
            headers: apiError.headers,
          },
        )
      : new ApiError(500, ErrorTypes.api, 'internal_error', reportedMessage(request.id));
    const stored = onReportedError(request, error, answer.status);
    if (!stored) return sendError(reply, answer, request.id);
    return stored.then(() => sendError(reply, answer, request.id));
  });
}
