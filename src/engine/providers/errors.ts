/**
 * One error class for everything that can go wrong calling a model, with a stable `code` the run
 * engine records on the failed run and a `retryable` flag a caller can act on. The AI SDK reports
 * failures in several shapes (APICallError with a status, RetryError wrapping the last attempt,
 * plain objects in a stream's `error` part, validation errors for a malformed reply); they are
 * all funnelled through `toModelError` here so the mapping lives in one place.
 *
 * Messages may quote the upstream's own error text, so every configured API key is scrubbed from
 * them: an upstream that echoes the key it was sent must not put it into a run record.
 */
import { APICallError, RetryError } from 'ai';

export const ModelErrorCodes = {
  unknown_model: 'unknown_model',
  provider_not_configured: 'provider_not_configured',
  provider_rate_limited: 'provider_rate_limited',
  provider_error: 'provider_error',
  provider_auth_failed: 'provider_auth_failed',
  provider_bad_request: 'provider_bad_request',
  mock_error: 'mock_error',
} as const;
export type ModelErrorCode = (typeof ModelErrorCodes)[keyof typeof ModelErrorCodes];

export interface ModelErrorOptions {
  retryable?: boolean;
  /** HTTP status the upstream answered with, when there was one */
  status?: number;
  cause?: unknown;
}

export class ModelError extends Error {
  /** one of ModelErrorCodes, or the code a scripted mock error asked for */
  readonly code: string;
  readonly retryable: boolean;
  /** only set when there was an upstream HTTP status (declared so no `undefined` own property) */
  declare readonly status?: number;

  constructor(code: string, message: string, options: ModelErrorOptions = {}) {
    super(message, { cause: options.cause });
    this.name = 'ModelError';
    this.code = code;
    this.retryable = options.retryable ?? false;
    if (options.status !== undefined)
      Object.defineProperty(this, 'status', { value: options.status, enumerable: true });
  }
}

export interface ErrorContext {
  /** provider prefix of the model id, used to say who failed */
  provider: string;
  /** values that must never appear in a message */
  secrets: readonly string[];
}

const MAX_MESSAGE = 500;

export function redact(message: string, secrets: readonly string[]): string {
  let out = message;
  for (const secret of secrets) {
    if (secret.length > 0) out = out.split(secret).join('[redacted]');
  }
  return out.length > MAX_MESSAGE ? out.slice(0, MAX_MESSAGE) + '…' : out;
}

function fromStatus(status: number, detail: string, ctx: ErrorContext, cause: unknown): ModelError {
  const message = redact(`${ctx.provider} answered ${status}: ${detail}`, ctx.secrets);
  if (status === 429) {
    return new ModelError(ModelErrorCodes.provider_rate_limited, message, { retryable: true, status, cause });
  }
  if (status === 401 || status === 403) {
    return new ModelError(ModelErrorCodes.provider_auth_failed, message, { status, cause });
  }
  if (status >= 400 && status < 500) {
    // 408 (timeout) and 409 (conflict) are worth another try; the rest will fail the same way.
    const retryable = status === 408 || status === 409;
    return new ModelError(ModelErrorCodes.provider_bad_request, message, { retryable, status, cause });
  }
  return new ModelError(ModelErrorCodes.provider_error, message, { retryable: status >= 500, status, cause });
}

/** Anthropic and OpenAI signal some failures inside an SSE stream as `{type, message}` objects. */
function fromStreamErrorObject(value: Record<string, unknown>, ctx: ErrorContext): ModelError {
  const nested = typeof value.error === 'object' && value.error !== null ? value.error : value;
  const { type, message, statusCode } = nested as Record<string, unknown>;
  const detail = typeof message === 'string' ? message : 'stream failed';
  if (typeof statusCode === 'number') return fromStatus(statusCode, detail, ctx, value);
  const kind = typeof type === 'string' ? type : '';
  if (kind.includes('rate_limit')) return fromStatus(429, detail, ctx, value);
  if (kind.includes('authentication') || kind.includes('permission'))
    return fromStatus(401, detail, ctx, value);
  if (kind.includes('invalid_request')) return fromStatus(400, detail, ctx, value);
  return new ModelError(
    ModelErrorCodes.provider_error,
    redact(`${ctx.provider} stream failed${kind ? ` (${kind})` : ''}: ${detail}`, ctx.secrets),
    { retryable: kind.includes('overloaded') || kind.includes('api_error'), cause: value },
  );
}

/** Maps whatever the AI SDK threw to a ModelError. Aborts are handled by the caller, not here. */
export function toModelError(error: unknown, ctx: ErrorContext): ModelError {
  if (error instanceof ModelError) return error;
  if (RetryError.isInstance(error)) return toModelError(error.lastError, ctx);
  if (APICallError.isInstance(error)) {
    if (error.statusCode !== undefined && error.statusCode >= 400) {
      return fromStatus(error.statusCode, error.message, ctx, error);
    }
    // No status: the connection failed or the reply did not parse.
    return new ModelError(
      ModelErrorCodes.provider_error,
      redact(`${ctx.provider} request failed: ${error.message}`, ctx.secrets),
      { retryable: error.isRetryable, cause: error },
    );
  }
  if (error instanceof Error) {
    if (error.name === 'AI_InvalidArgumentError' || error.name === 'AI_InvalidPromptError') {
      return new ModelError(ModelErrorCodes.provider_bad_request, redact(error.message, ctx.secrets), {
        cause: error,
      });
    }
    // TypeValidationError, JSONParseError, NoOutputGeneratedError…: the upstream said something
    // the adapter could not understand.
    return new ModelError(
      ModelErrorCodes.provider_error,
      redact(`${ctx.provider} returned an unusable reply: ${error.message}`, ctx.secrets),
      { cause: error },
    );
  }
  if (typeof error === 'object' && error !== null) {
    return fromStreamErrorObject(error as Record<string, unknown>, ctx);
  }
  return new ModelError(
    ModelErrorCodes.provider_error,
    redact(`${ctx.provider} failed: ${String(error)}`, ctx.secrets),
  );
}

/** The error every aborted call rejects with, whatever reason the signal carried. */
export function abortError(signal: AbortSignal): Error {
  const error = new Error('The model call was aborted', { cause: signal.reason });
  error.name = 'AbortError';
  return error;
}
