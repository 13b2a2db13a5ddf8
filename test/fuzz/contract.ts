/**
 * The server's OpenAPI document read as a contract: its operations (with Fastify-style urls, so the
 * tenant fixtures can place their path parameters), Ajv validators for every request part and
 * response, and `judge`, which says what is wrong with one answer to one request — or nothing.
 *
 * The rules, per the API contract (shared/DESIGN.md) and issue 19:
 * - never a 5xx; every answer carries Request-Id;
 * - an error is the documented envelope (its request_id the header's), under a documented status;
 * - a request the document forbids is refused 400 or 422 (413/414 past the size limits), never served;
 * - a request the document allows is never refused 400: the document must say what is refused;
 * - a 2xx body validates against the documented schema of its status and media type
 *   (an event stream must be documented as text/event-stream, and each event is JSON with
 *   `type` and `sequence_number`).
 */
import { Ajv2020 } from 'ajv/dist/2020.js';
import ajvFormats from 'ajv-formats';
import type { Schema } from './schema-arbitrary.ts';

const addFormats = ajvFormats.default;

export interface Param {
  name: string;
  in: 'path' | 'query' | 'header' | 'cookie';
  required: boolean;
  schema: Schema;
}

export interface Operation {
  id: string;
  method: string;
  /** OpenAPI style, `/v2/runs/{id}` */
  path: string;
  /** Fastify style, `/v2/runs/:id` */
  url: string;
  params: Param[];
  body?: Schema;
  responses: Record<string, { content?: Record<string, { schema?: Schema }> }>;
}

export interface Contract {
  doc: any;
  operations: Operation[];
  resolve(ref: string): Schema;
  bodyValid(op: Operation, body: unknown): boolean;
  /** `query` as Fastify sees it: strings, arrays for repeated names */
  queryValid(op: Operation, query: Record<string, string | string[]>): boolean;
  pathValid(op: Operation, values: Record<string, string>): boolean;
  /** Ajv's complaint about `value` against a documented response schema, or null */
  responseProblem(schema: Schema, value: unknown): string | null;
}

const rewriteRefs = (schema: unknown): any =>
  JSON.parse(JSON.stringify(schema), (k, v) =>
    k === '$ref' && typeof v === 'string' && v.startsWith('#/') ? `doc${v}` : v,
  );

export function readContract(doc: any): Contract {
  const ajv = new Ajv2020({ strict: false, allErrors: false, validateFormats: true });
  addFormats(ajv);
  ajv.addSchema({ $id: 'doc', components: rewriteRefs(doc.components ?? {}) });
  const bodyAjv = ajv;
  const queryAjv = new Ajv2020({ strict: false, coerceTypes: 'array' });
  addFormats(queryAjv);
  const cache = new Map<string, ReturnType<typeof ajv.compile>>();
  const compiled = (key: string, make: () => ReturnType<typeof ajv.compile>) => {
    const known = cache.get(key);
    if (known) return known;
    const fn = make();
    cache.set(key, fn);
    return fn;
  };

  const operations: Operation[] = [];
  for (const [path, item] of Object.entries<any>(doc.paths)) {
    for (const [method, op] of Object.entries<any>(item)) {
      if (!op?.responses) continue;
      operations.push({
        id: op.operationId ?? `${method} ${path}`,
        method: method.toUpperCase(),
        path,
        url: path.replace(/\{([^}]+)\}/g, ':$1'),
        params: [...(item.parameters ?? []), ...(op.parameters ?? [])],
        body: op.requestBody?.content?.['application/json']?.schema,
        responses: op.responses,
      });
    }
  }

  const resolve = (ref: string): Schema =>
    ref
      .replace(/^#\//, '')
      .split('/')
      .reduce((node: any, part) => node[part], doc);

  return {
    doc,
    operations,
    resolve,
    bodyValid(op, body) {
      if (!op.body) return body === undefined;
      return compiled(`body ${op.id}`, () => bodyAjv.compile(rewriteRefs(op.body)))(body) as boolean;
    },
    queryValid(op, query) {
      const params = op.params.filter((p) => p.in === 'query');
      const schema = {
        type: 'object',
        properties: Object.fromEntries(params.map((p) => [p.name, p.schema])),
        required: params.filter((p) => p.required).map((p) => p.name),
      };
      return compiled(`query ${op.id}`, () => queryAjv.compile(rewriteRefs(schema)))(
        structuredClone(query),
      ) as boolean;
    },
    pathValid(op, values) {
      return op.params
        .filter((p) => p.in === 'path')
        .every((p) =>
          compiled(`path ${op.id} ${p.name}`, () => queryAjv.compile(rewriteRefs(p.schema)))(values[p.name]),
        );
    },
    responseProblem(schema, value) {
      const fn = compiled(`response ${JSON.stringify(schema)}`, () => ajv.compile(rewriteRefs(schema)));
      if (fn(value)) return null;
      const e = fn.errors?.[0];
      return `${e?.instancePath || '/'} ${e?.message} (${JSON.stringify(e?.params)})`;
    },
  };
}

export interface Answer {
  status: number;
  headers: Record<string, unknown>;
  text: string;
  sse: boolean;
  truncated: boolean;
}

/** The documented response of `status`: exact, else its class (`4XX`), else `default`. */
export function documented(op: Operation, status: number) {
  return op.responses[String(status)] ?? op.responses[`${String(status)[0]}XX`] ?? op.responses.default;
}

/**
 * What a request is, by the document: `valid`, `invalid` (Ajv refuses a part of it), or
 * `malformed` (not JSON the server may take as it is: nesting past any sane depth, a number JSON
 * cannot carry, a duplicate key, invalid UTF-8, a foreign encoding). Issue 19 (bug 11): a malformed
 * body is refused 400/413/415 with the envelope, never stored or served.
 */
export type Expectation = 'valid' | 'invalid' | 'malformed';

export interface Problem {
  /** the rule broken: the same for every instance of one bug */
  rule: string;
  detail: string;
}

/** What is wrong with `answer` to a request of `expect` — or null. */
export function judge(
  contract: Contract,
  op: Operation,
  expect: Expectation,
  answer: Answer,
  /** the path names an object that does not exist: a service that checks the body itself looks it up first */
  unknownId = false,
): Problem | null {
  const { status, text } = answer;
  const head = `${status} ${text.slice(0, 300)}`;
  const problem = (rule: string, detail = head): Problem => ({ rule, detail });
  if (status >= 500) return problem(`server error ${status}`);
  if (!answer.headers['request-id']) return problem('no Request-Id header');
  const doc = documented(op, status);
  if (!doc) return problem(`status ${status} is not documented`);
  const type = String(answer.headers['content-type'] ?? '')
    .split(';')[0]
    .trim();

  if (status >= 400) {
    if (type !== 'application/json') return problem(`error answered as ${type || 'no content type'}`);
    let body: any;
    try {
      body = JSON.parse(text);
    } catch {
      return problem('error body is not JSON');
    }
    const broken = contract.responseProblem({ $ref: '#/components/schemas/Error' }, body);
    if (broken) return problem('error body breaks the envelope', `${broken}: ${head}`);
    if (body.error.request_id !== answer.headers['request-id'])
      return problem('error request_id differs from Request-Id');
    // 404 route_not_found: the request never reached an operation (a path id that is URL syntax)
    const unrouted = status === 404 && body.error.code === 'route_not_found';
    // 422: what the document forbids may be checked by the service, which answers 422 (a pipeline
    // definition is validated as a whole, an unknown scope is named): refused all the same
    const missing = unknownId && status === 404;
    if (expect === 'invalid' && ![400, 413, 414, 422].includes(status) && !unrouted && !missing)
      return problem(`a request the document forbids got ${status}, not 400 or 422`);
    if (expect === 'malformed' && ![400, 413, 415].includes(status))
      return problem(`a malformed body got ${status}, not 400/413/415`);
    if (expect === 'valid' && status === 400) return problem('a request the document allows was refused 400');
    return null;
  }

  if (expect === 'invalid') return problem('a request the document forbids was served');
  if (expect === 'malformed') return problem('a malformed body was served');
  if (status === 204) return text === '' ? null : problem('204 with a body');
  const media = doc.content?.[type];
  if (!media)
    return problem(
      `answered ${type || 'no content type'}, documented ${Object.keys(doc.content ?? {}).join(', ') || 'no content'}`,
    );
  if (answer.sse) {
    const events = text.split('\n\n').filter((block) => block.split('\n').some((l) => l.startsWith('data:')));
    const complete = answer.truncated ? events.slice(0, -1) : events;
    for (const block of complete) {
      const data = block
        .split('\n')
        .filter((l) => l.startsWith('data:'))
        .map((l) => l.slice(5).replace(/^ /, ''))
        .join('\n');
      let event: any;
      try {
        event = JSON.parse(data);
      } catch {
        return problem('event data is not JSON', data.slice(0, 200));
      }
      if (typeof event?.type !== 'string' || !Number.isInteger(event?.sequence_number))
        return problem('event without type and sequence_number', data.slice(0, 200));
    }
    return null;
  }
  if (!media.schema) return null;
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return problem('body is not JSON');
  }
  const broken = contract.responseProblem(media.schema, body);
  return broken ? problem('body breaks the documented schema', `${broken}: ${head}`) : null;
}
