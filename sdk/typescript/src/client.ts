/**
 * The AIRMY client: configuration, the one request loop every resource goes through, and the
 * resources as properties. The loop sends an `Idempotency-Key` on every POST (generated once per
 * call, the same on every retry, so a retried POST never makes a second object) and retries per
 * core/retry.ts, numbering retries in `X-Airmy-Retry-Count`.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import {
  AirmyError,
  APIConnectionError,
  APITimeoutError,
  APIUserAbortError,
  errorFields,
  makeAPIError,
} from './core/errors.ts';
import { type ListResponse, Page, PagePromise } from './core/pagination.ts';
import type { Query, RequestOptions, RequestSpec, WithRequestID } from './core/request.ts';
import { retryDelayMs, shouldRetry, sleep } from './core/retry.ts';
import { type Fetch, httpsFetch } from './core/transport.ts';
import { Agents } from './resources/agents.ts';
import { Alerts } from './resources/alerts.ts';
import { APIKeys } from './resources/api-keys.ts';
import { AuditLogs } from './resources/audit-logs.ts';
import { Auth } from './resources/auth.ts';
import { Connectors } from './resources/connectors.ts';
import { Deployments } from './resources/deployments.ts';
import { GuardrailPolicies } from './resources/guardrails.ts';
import { Metrics } from './resources/metrics.ts';
import { OrganizationResource } from './resources/organization.ts';
import { Pipelines } from './resources/pipelines.ts';
import { Runs } from './resources/runs.ts';
import { VERSION } from './version.ts';

export const DEFAULT_BASE_URL = 'https://127.0.0.1:8443/v2';

export interface ClientOptions {
  /** API key or session token (default: env AIRMY_API_KEY) */
  apiKey?: string;
  /** default: env AIRMY_BASE_URL, else https://127.0.0.1:8443/v2 */
  baseURL?: string;
  /** ms per attempt (default 60 000); a stream's timeout covers getting its headers */
  timeout?: number;
  /** retries after the first attempt (default 2) */
  maxRetries?: number;
  /** a PEM file to trust besides Node's defaults (e.g. the server's self-signed `ca.pem`) */
  caFile?: string;
  /** the same as PEM text */
  ca?: string;
  /** a custom transport with fetch's signature (takes precedence over caFile/ca) */
  fetch?: Fetch;
  /** headers sent on every request */
  defaultHeaders?: Record<string, string>;
}

export class Airmy {
  readonly baseURL: string;
  readonly timeout: number;
  readonly maxRetries: number;
  readonly #apiKey: string;
  readonly #fetch: Fetch;
  readonly #defaultHeaders: Record<string, string>;

  readonly agents = new Agents(this);
  readonly runs = new Runs(this);
  readonly deployments = new Deployments(this);
  readonly pipelines = new Pipelines(this);
  readonly metrics = new Metrics(this);
  readonly auditLogs = new AuditLogs(this);
  /** the same as `auditLogs` (the API's path is `/logs`) */
  readonly logs = this.auditLogs;
  readonly alerts = new Alerts(this);
  readonly apiKeys = new APIKeys(this);
  /** session tokens: `client.auth.createToken()` */
  readonly auth = new Auth(this);
  readonly connectors = new Connectors(this);
  readonly guardrailPolicies = new GuardrailPolicies(this);
  readonly organization = new OrganizationResource(this);

  constructor(options: ClientOptions = {}) {
    const apiKey = options.apiKey ?? process.env.AIRMY_API_KEY;
    if (!apiKey)
      throw new AirmyError(
        'No API key: pass new Airmy({ apiKey }) or set AIRMY_API_KEY (keys look like sk-airmy-…).',
      );
    this.#apiKey = apiKey;
    this.baseURL = (options.baseURL ?? process.env.AIRMY_BASE_URL ?? DEFAULT_BASE_URL).replace(/\/+$/, '');
    this.timeout = options.timeout ?? 60_000;
    this.maxRetries = options.maxRetries ?? 2;
    const ca = options.ca ?? (options.caFile ? readFileSync(options.caFile, 'utf8') : undefined);
    this.#fetch = options.fetch ?? (ca ? httpsFetch(ca) : globalThis.fetch.bind(globalThis));
    this.#defaultHeaders = options.defaultHeaders ?? {};
  }

  /** GET/POST/PATCH/DELETE `path` and return the parsed JSON body, `_requestID` attached. */
  async request<T>(spec: RequestSpec, options: RequestOptions = {}): Promise<WithRequestID<T>> {
    const { response, text } = await this.send(spec, options);
    const requestID = response.headers.get('request-id') ?? undefined;
    const body = (text ? JSON.parse(text) : {}) as T;
    if (body && typeof body === 'object')
      Object.defineProperty(body, '_requestID', { value: requestID, enumerable: false });
    return body as WithRequestID<T>;
  }

  /** A list endpoint as an auto-paginating PagePromise. */
  list<T extends { id: string }>(path: string, query: Query = {}, options?: RequestOptions): PagePromise<T> {
    const fetchPage = async (q: Query): Promise<Page<T>> => {
      const body = await this.request<ListResponse<T>>({ method: 'GET', path, query: q }, options);
      return new Page(body, body._requestID, (after) =>
        fetchPage({ ...q, starting_after: after, ending_before: undefined }),
      );
    };
    return new PagePromise(() => fetchPage(query));
  }

  /**
   * The retry loop: the last attempt's 2xx answer and its body text (a stream: the Response with
   * its body unread, `text` undefined), else the error of the last attempt.
   */
  async send(
    spec: RequestSpec,
    options: RequestOptions = {},
  ): Promise<{ response: Response; text: string | undefined }> {
    const maxRetries = options.maxRetries ?? this.maxRetries;
    const timeout = options.timeout ?? this.timeout;
    const url = this.#url(spec.path, spec.query);
    const idempotencyKey =
      spec.method === 'POST'
        ? (options.idempotencyKey ?? `airmy-typescript-retry-${randomUUID()}`)
        : undefined;
    const body = spec.body === undefined ? undefined : JSON.stringify(spec.body);
    const headers: Record<string, string> = {
      accept: spec.stream ? 'text/event-stream' : 'application/json',
      'user-agent': `airmy-typescript/${VERSION}`,
      ...this.#defaultHeaders,
      ...spec.headers,
      ...options.headers,
      authorization: `Bearer ${this.#apiKey}`,
    };
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (idempotencyKey) headers['idempotency-key'] = idempotencyKey;

    for (let attempt = 0; ; attempt++) {
      if (attempt > 0) headers['x-airmy-retry-count'] = String(attempt);
      const timer = new AbortController();
      const timeoutId = setTimeout(() => timer.abort(new APITimeoutError()), timeout);
      const signal = options.signal ? AbortSignal.any([options.signal, timer.signal]) : timer.signal;
      let response: Response;
      let text: string | undefined;
      try {
        response = await this.#fetch(url, { method: spec.method, headers, body, signal });
        // the body is read inside the attempt's timeout (a stream's is the caller's to read)
        if (!response.ok || !spec.stream) text = await response.text();
      } catch (err) {
        clearTimeout(timeoutId);
        if (options.signal?.aborted) throw new APIUserAbortError();
        const failure = timer.signal.aborted
          ? new APITimeoutError(`Request timed out after ${timeout} ms.`)
          : new APIConnectionError(`Connection error: ${describe(err)}`, { cause: err });
        if (attempt >= maxRetries) throw failure;
        await sleep(retryDelayMs(attempt), options.signal);
        continue;
      }
      clearTimeout(timeoutId);
      if (response.ok) return { response, text };
      const parsed = parseBody(text ?? '');
      if (attempt < maxRetries && shouldRetry(response.status, response.headers, errorFields(parsed).code)) {
        await sleep(retryDelayMs(attempt, response.headers), options.signal);
        continue;
      }
      throw makeAPIError(response.status, parsed, response.headers);
    }
  }

  #url(path: string, query?: Query): string {
    const url = new URL(this.baseURL + path);
    for (const [k, v] of Object.entries(query ?? {})) {
      if (v === undefined || v === null) continue;
      if (Array.isArray(v)) for (const x of v) url.searchParams.append(k, x);
      else if (typeof v === 'object')
        for (const [f, x] of Object.entries(v)) url.searchParams.set(`${k}[${f}]`, x);
      else url.searchParams.set(k, String(v));
    }
    return url.toString();
  }
}

function parseBody(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function describe(err: unknown): string {
  const cause = (err as { cause?: { code?: string; message?: string } })?.cause;
  const code = (err as { code?: string })?.code ?? cause?.code;
  const message = err instanceof Error ? err.message : String(err);
  return code && !message.includes(code) ? `${message} (${code})` : (cause?.message ?? message);
}
