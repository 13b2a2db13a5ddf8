/** What every call may take besides its parameters. */
export interface RequestOptions {
  /** extra headers for this call */
  headers?: Record<string, string>;
  /** the Idempotency-Key of a POST (default: one generated per call, reused by its retries) */
  idempotencyKey?: string;
  /** abort the call (a stream: stop following it) */
  signal?: AbortSignal;
  /** ms per attempt (default: the client's) */
  timeout?: number;
  /** retries of this call (default: the client's) */
  maxRetries?: number;
}

/** Query parameters; an array repeats the key, an object becomes `key[field]=value` (metadata filters). */
export type Query = Record<
  string,
  string | number | boolean | string[] | Record<string, string> | undefined | null
>;

export interface RequestSpec {
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  path: string;
  query?: Query;
  body?: unknown;
  /** ask for `text/event-stream` and return the Response unread */
  stream?: boolean;
  headers?: Record<string, string>;
}

/** A returned object also tells which request produced it (non-enumerable, so JSON skips it). */
export type WithRequestID<T> = T & { readonly _requestID?: string };

/** `path\`/agents/${id}\`` with every interpolated value URL-encoded. */
export function path(strings: TemplateStringsArray, ...values: string[]): string {
  return strings.reduce(
    (out, s, i) => out + s + (i < values.length ? encodeURIComponent(values[i]) : ''),
    '',
  );
}
