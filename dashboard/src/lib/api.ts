/**
 * The dashboard's only way to the server: the public /v2 API, with the session cookie
 * (credentials: 'same-origin') and JSON bodies, which is what the server's CSRF rules ask of a
 * cookie-authenticated write. No key or secret is ever stored in the browser.
 */

export interface ErrorBody {
  type?: string;
  code?: string;
  message?: string;
  param?: string;
  request_id?: string;
}

/** A non-2xx answer: the server's own message and request id, shown as they are. */
export class ApiFailure extends Error {
  readonly status: number;
  readonly code: string;
  readonly requestId: string | null;
  readonly param: string | null;
  constructor(status: number, body: ErrorBody, requestId: string | null) {
    super(body.message ?? `The server answered ${status}`);
    this.status = status;
    this.code = body.code ?? 'unknown_error';
    this.requestId = body.request_id ?? requestId;
    this.param = body.param ?? null;
  }
}

export interface RateLimit {
  limit: number;
  remaining: number;
  resetSeconds: number;
}

type Listener = () => void;
const unauthorizedListeners = new Set<Listener>();
let lastRateLimit: RateLimit | null = null;

/** Called on any 401 (session expired or revoked): the app sends the user to the login page. */
export function onUnauthorized(listener: Listener): () => void {
  unauthorizedListeners.add(listener);
  return () => unauthorizedListeners.delete(listener);
}

/** The rate-limit headers of the most recent answer (usage against the plan's limit). */
export const rateLimit = () => lastRateLimit;

export interface RequestOptions {
  method?: string;
  body?: unknown;
  signal?: AbortSignal;
  headers?: Record<string, string>;
  /** a 401 is the answer itself (the login form), not "session expired" */
  expectUnauthorized?: boolean;
}

export async function request(path: string, options: RequestOptions = {}): Promise<Response> {
  const headers: Record<string, string> = { accept: 'application/json', ...options.headers };
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  let response: Response;
  try {
    response = await fetch(path, {
      method: options.method ?? 'GET',
      credentials: 'same-origin',
      headers,
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
      signal: options.signal,
    });
  } catch (error) {
    if ((error as Error).name === 'AbortError') throw error;
    throw new ApiFailure(0, { message: 'The server cannot be reached. Check your connection.' }, null);
  }
  const limit = response.headers.get('x-ratelimit-limit');
  if (limit !== null) {
    lastRateLimit = {
      limit: Number(limit),
      remaining: Number(response.headers.get('x-ratelimit-remaining') ?? 0),
      resetSeconds: Number(response.headers.get('x-ratelimit-reset') ?? 0),
    };
  }
  if (!response.ok) {
    let body: ErrorBody = {};
    try {
      body = ((await response.json()) as { error?: ErrorBody }).error ?? {};
    } catch {
      // not JSON: the status alone
    }
    const failure = new ApiFailure(response.status, body, response.headers.get('request-id'));
    if (response.status === 401 && !options.expectUnauthorized) {
      for (const listener of unauthorizedListeners) listener();
    }
    throw failure;
  }
  return response;
}

export async function api<T>(path: string, options: RequestOptions = {}): Promise<T> {
  const response = await request(path, options);
  if (response.status === 204) return undefined as T;
  return (await response.json()) as T;
}

export interface List<T> {
  object: 'list';
  data: T[];
  has_more: boolean;
}

/** `/v2/runs?status=a&status=b&limit=20`: undefined and empty values are left out. */
export function query(params: Record<string, string | number | string[] | undefined | null>): string {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value === undefined || value === null || value === '') continue;
    if (Array.isArray(value)) for (const v of value) search.append(key, v);
    else search.set(key, String(value));
  }
  const s = search.toString();
  return s ? `?${s}` : '';
}
