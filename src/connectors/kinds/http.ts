/**
 * `http` connectors: one endpoint the model may call. The URL is a template: `{{param}}` is filled
 * from the tool input (URL-encoded, so a value cannot add path segments or query parameters), and
 * `{{secrets.NAME}}` (in the URL or a header value) from the connector's secrets, decrypted only
 * for the call. Placeholders may sit in the path and query only — never in the scheme, host or
 * port — so the model cannot choose where the request goes; the egress guard checks it anyway.
 * Input fields the URL does not use travel as query parameters (GET, DELETE) or as a JSON body.
 */
import { type Egress, EgressError } from '../../infra/egress/egress.ts';
import type { InputValidator } from '../../pipelines/input-schema.ts';
import { type ToolDefinition, ToolError } from '../tool.ts';

export const HTTP_TIMEOUT_MS = 15_000;
export const HTTP_MAX_BYTES = 1024 * 1024;
export const HTTP_MAX_CHARS = 20_000;

const PLACEHOLDER = /\{\{\s*([^{}]*?)\s*\}\}/g;
const PARAM = /^[A-Za-z_][A-Za-z0-9_]*$/;
const SECRET_REF = /^secrets\.([A-Za-z_][A-Za-z0-9_]*)$/;

export interface Placeholders {
  params: string[];
  secrets: string[];
  /** `{{…}}` that is neither a parameter nor a secret reference */
  invalid: string[];
}

export function placeholders(text: string): Placeholders {
  const out: Placeholders = { params: [], secrets: [], invalid: [] };
  for (const m of text.matchAll(PLACEHOLDER)) {
    const inner = m[1]!;
    const secret = SECRET_REF.exec(inner);
    if (secret) out.secrets.push(secret[1]!);
    else if (PARAM.test(inner)) out.params.push(inner);
    else out.invalid.push(m[0]);
  }
  return out;
}

export const fill = (template: string, value: (inner: string) => string) =>
  template.replace(PLACEHOLDER, (_m, inner: string) => value(inner));

/**
 * Why a URL template is unusable, or null. Checks that it is an absolute http(s) URL without
 * credentials once filled, and that no placeholder can change its origin.
 */
export function urlTemplateProblem(template: string): string | null {
  let a: URL;
  let b: URL;
  try {
    a = new URL(fill(template, () => 'a'));
    b = new URL(fill(template, () => 'b'));
  } catch {
    return 'must be an absolute URL';
  }
  if (a.protocol !== 'http:' && a.protocol !== 'https:') return 'must be an http or https URL';
  if (a.username || a.password || b.username || b.password)
    return 'may not carry credentials (user:password@)';
  if (a.origin !== b.origin) return 'placeholders may only appear in the path and the query, not in the host';
  return null;
}

export interface HttpConnectorConfig {
  method: string;
  url: string;
  input_schema: Record<string, unknown>;
  headers: Record<string, string>;
}

/** The input schema a template implies when none is given: each placeholder a required string. */
export function defaultInputSchema(url: string): Record<string, unknown> {
  const params = [...new Set(placeholders(url).params)];
  return {
    type: 'object',
    properties: Object.fromEntries(params.map((p) => [p, { type: 'string' }])),
    required: params,
    additionalProperties: false,
  };
}

function scalar(name: string, value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  throw new ToolError('invalid_input', `"${name}" must be a string, number or boolean to go into the URL`);
}

const TEXTUAL = /json|^text\/|xml|javascript|yaml/i;

export function httpTool(
  conn: {
    name: string;
    description: string;
    config: HttpConnectorConfig;
    secrets: () => Record<string, string>;
  },
  deps: { egress: Pick<Egress, 'fetch'>; validator: InputValidator },
): ToolDefinition {
  const { config } = conn;
  const used = new Set(placeholders(config.url).params);
  return {
    name: conn.name,
    description: conn.description,
    inputSchema: config.input_schema,
    async execute(raw, { signal }) {
      const input = (raw ?? {}) as Record<string, unknown>;
      if (typeof input !== 'object' || Array.isArray(input)) {
        throw new ToolError('invalid_input', 'The input must be a JSON object');
      }
      const issue = deps.validator.validate(config.input_schema, input);
      if (issue) throw new ToolError('invalid_input', issue.message);
      const secrets = conn.secrets();
      const secretValue = (name: string) => {
        const value = secrets[name];
        if (value === undefined)
          throw new ToolError('secret_missing', `The connector's secret ${name} is not set`);
        return value;
      };
      const url = new URL(
        fill(config.url, (inner) => {
          const secret = SECRET_REF.exec(inner);
          if (secret) return encodeURIComponent(secretValue(secret[1]!));
          if (input[inner] === undefined || input[inner] === null) {
            throw new ToolError('invalid_input', `Missing "${inner}": the URL needs it`);
          }
          return encodeURIComponent(scalar(inner, input[inner]));
        }),
      );
      const rest = Object.fromEntries(
        Object.entries(input).filter(([k, v]) => !used.has(k) && v !== undefined),
      );
      const headers: Record<string, string> = { accept: 'application/json, text/*;q=0.9, */*;q=0.5' };
      for (const [name, value] of Object.entries(config.headers)) {
        headers[name.toLowerCase()] = fill(value, (inner) => secretValue(SECRET_REF.exec(inner)![1]!));
      }
      let body: string | undefined;
      if (config.method === 'GET' || config.method === 'DELETE') {
        for (const [k, v] of Object.entries(rest)) {
          url.searchParams.append(k, typeof v === 'object' ? JSON.stringify(v) : String(v));
        }
      } else {
        body = JSON.stringify(rest);
        headers['content-type'] ??= 'application/json';
      }
      let res: Awaited<ReturnType<Egress['fetch']>>;
      try {
        res = await deps.egress.fetch(
          url,
          { method: config.method, headers, body, signal },
          { timeoutMs: HTTP_TIMEOUT_MS, maxBytes: HTTP_MAX_BYTES },
        );
      } catch (err) {
        if (err instanceof EgressError) throw new ToolError(err.code, err.message);
        throw err;
      }
      const contentType = res.headers['content-type'] ?? '';
      let parsed: unknown = null;
      if (/json/i.test(contentType) && res.body.length <= HTTP_MAX_CHARS) {
        try {
          parsed = JSON.parse(res.body);
        } catch {
          parsed = null;
        }
      }
      const text = TEXTUAL.test(contentType) || contentType === '' ? res.body.slice(0, HTTP_MAX_CHARS) : null;
      if (res.status < 200 || res.status >= 300) {
        throw new ToolError(
          'upstream_error',
          `${conn.name} answered HTTP ${res.status}${text ? `: ${text.slice(0, 500)}` : ''}`,
        );
      }
      if (parsed !== null) return { status: res.status, body: parsed };
      return {
        status: res.status,
        content_type: contentType || null,
        body: text,
        truncated: text !== null && res.body.length > HTTP_MAX_CHARS,
      };
    },
  };
}
