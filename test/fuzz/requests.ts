/**
 * Requests for one operation, drawn by fast-check from the operation's documented parameters and
 * body, and made concrete against a pool of live ids: what the fuzz has created (and the fixtures
 * it started from) is what later operations take in their paths and in their `*_id` fields, so a
 * GET, PATCH, action or DELETE reaches a real object most of the time, not only a 404.
 */
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import {
  CHILD_OF_PIPELINE,
  createBodies,
  ID_FIELDS,
  type Kind,
  kindOfId,
  kindOfParam,
} from '../support/tenant-fixtures.ts';
import type { Contract, Operation } from './contract.ts';
import { invalid, type Schema, valid } from './schema-arbitrary.ts';

export interface PoolItem {
  id: string;
  parent?: string;
}

/** Live ids by kind; `keep` are never handed to a DELETE (the fuzz's own key, its fixtures). */
export class IdPool {
  readonly items = new Map<Kind, PoolItem[]>();
  readonly keep = new Set<string>();
  add(item: PoolItem) {
    const kind = kindOfId(item.id);
    if (!kind) return;
    const list = this.items.get(kind) ?? [];
    if (!list.some((x) => x.id === item.id)) list.push(item);
    this.items.set(kind, list);
  }
  remove(id: string) {
    const kind = kindOfId(id);
    if (kind)
      this.items.set(
        kind,
        (this.items.get(kind) ?? []).filter((x) => x.id !== id),
      );
  }
  pick(kind: Kind, n: number, forDelete = false): PoolItem | undefined {
    const list = (this.items.get(kind) ?? []).filter((x) => !forDelete || !this.keep.has(x.id));
    return list.length ? list[n % list.length] : undefined;
  }
}

/** How a drawn request goes wrong, if it does; the verdict is still Ajv's. */
export type Flavour = 'valid' | 'example' | 'bad-body' | 'bad-query' | 'odd-id' | 'malformed' | 'empty-json';

/** A body that is not plain JSON the server may take as it is (issue 19, bug 11). */
export interface Malformed {
  how: 'deep' | 'non-finite' | 'duplicate-key' | 'invalid-utf8' | 'utf16' | 'gzip';
  depth: number;
}

export interface Drawn {
  flavour: Flavour;
  body: unknown;
  query: Record<string, unknown>;
  /** an id for every path parameter when flavour is odd-id; otherwise taken from the pool */
  oddId?: string;
  /** which pool entry to take, and whether `*_id` body and query fields take pool ids */
  pick: number;
  usePool: boolean;
  accept: 'json' | 'sse';
  malformed?: Malformed;
}

/** Range limits that are valid but cost the server wall-clock time, not input handling. */
export const practical: Record<string, fc.Arbitrary<unknown>> = {
  mock_latency_ms: fc.integer({ min: 0, max: 20 }),
  mock_chunk_size: fc.integer({ min: 16, max: 10_000 }),
  mock_reply: fc.string({ maxLength: 200 }).map((s) => s.replaceAll('\0', '')),
  mock_tool_rounds: fc.integer({ min: 1, max: 3 }),
  queue_timeout_ms: fc.integer({ min: 5_000, max: 86_400_000 }),
  timeout_ms: fc.integer({ min: 5_000, max: 3_600_000 }),
};

const oddIds = fc.oneof(
  fc.string({ minLength: 1, maxLength: 64 }),
  fc.string({ unit: 'grapheme', minLength: 1, maxLength: 20 }),
  fc.constantFrom(
    "ag_'; DROP TABLE agents; --",
    'run_01HXYZ123',
    '%00',
    '..%2f..%2fetc%2fpasswd',
    '𝕏'.repeat(64),
    'x'.repeat(65),
    'x'.repeat(101),
    'null',
    'undefined',
    '__proto__',
  ),
);

/** Known-good bodies (the fixtures'): valid by the document where the document says little. */
function example(op: Operation): unknown {
  const bodies = createBodies('fuzz', { agent: 'ag_fill' });
  const by: Record<string, unknown> = {
    'POST /v2/agents': bodies.agent,
    'POST /v2/deployments': bodies.deployment,
    'POST /v2/runs': bodies.run,
    'POST /v2/pipelines': bodies.pipeline,
    'PATCH /v2/pipelines/{id}': { steps: bodies.pipeline.steps },
    'POST /v2/pipelines/{id}/trigger': bodies.pipelineRun,
    'POST /v2/pipelines/{id}/schedules': bodies.schedule,
    'POST /v2/alerts': bodies.alert,
    'POST /v2/connectors': bodies.connector,
    'POST /v2/guardrails/policies': bodies.policy,
    'POST /v2/api-keys': bodies.apiKey,
  };
  return by[`${op.method} ${op.path}`];
}

export function drawRequest(contract: Contract, op: Operation): fc.Arbitrary<Drawn> {
  const opts = { resolve: contract.resolve, practical };
  const queryParams = op.params.filter((p) => p.in === 'query');
  const validQuery = fc.record(
    Object.fromEntries(queryParams.map((p) => [p.name, valid(p.schema, opts, p.name)])),
    { requiredKeys: queryParams.filter((p) => p.required).map((p) => p.name) },
  );
  const body = op.body ? valid(op.body, opts) : fc.constant(undefined);
  const common = {
    pick: fc.nat(),
    usePool: fc.boolean(),
    accept: fc.constantFrom<'json' | 'sse'>('json', 'sse'),
  };
  const flavours: fc.Arbitrary<Drawn>[] = [
    fc.record({ flavour: fc.constant<Flavour>('valid'), body, query: validQuery, ...common }),
  ];
  const known = example(op);
  if (known !== undefined)
    flavours.push(
      fc.record({
        flavour: fc.constant<Flavour>('example'),
        body: fc.constant(known),
        query: validQuery,
        ...common,
      }),
    );
  if (op.body)
    flavours.push(
      fc.record({
        flavour: fc.constant<Flavour>('bad-body'),
        body: invalid(op.body, opts),
        query: validQuery,
        ...common,
      }),
    );
  if (queryParams.length) {
    const badQuery = fc
      .tuple(validQuery, fc.constantFrom(...queryParams), fc.nat())
      .chain(([q, p]) => invalid(p.schema as Schema, opts).map((bad) => ({ ...q, [p.name]: bad })));
    flavours.push(
      fc.record({ flavour: fc.constant<Flavour>('bad-query'), body, query: badQuery, ...common }),
    );
  }
  if (op.body) {
    const malformed = fc.record({
      how: fc.constantFrom<Malformed['how']>(
        'deep',
        'non-finite',
        'duplicate-key',
        'invalid-utf8',
        'utf16',
        'gzip',
      ),
      depth: fc.constantFrom(5_000, 12_000),
    });
    flavours.push(
      fc.record({
        flavour: fc.constant<Flavour>('malformed'),
        body,
        query: validQuery,
        malformed,
        ...common,
      }),
    );
  }
  // `Content-Type: application/json` and no body, as curl scripts send it: issue 19, bug 9
  if (!op.body || contract.bodyValid(op, {}))
    flavours.push(
      fc.record({
        flavour: fc.constant<Flavour>('empty-json'),
        body: fc.constant(undefined),
        query: validQuery,
        ...common,
      }),
    );
  if (op.params.some((p) => p.in === 'path'))
    flavours.push(
      fc.record({
        flavour: fc.constant<Flavour>('odd-id'),
        body,
        query: validQuery,
        oddId: oddIds,
        ...common,
      }),
    );
  return fc.oneof(...flavours);
}

/** Query values as a URL carries them: arrays repeat the name, everything else is its string. */
export function toQuery(query: Record<string, unknown>): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [k, v] of Object.entries(query)) {
    if (v === undefined) continue;
    out[k] = Array.isArray(v)
      ? v.map((x) => (typeof x === 'object' ? JSON.stringify(x) : String(x)))
      : typeof v === 'object' && v !== null
        ? JSON.stringify(v)
        : String(v);
  }
  return out;
}

/** Puts pool ids into every `*_id` string field of a body or query (and an example's 'ag_fill'). */
export function withPoolIds(value: unknown, pool: IdPool, pick: number): unknown {
  if (Array.isArray(value)) return value.map((v) => withPoolIds(v, pool, pick));
  if (!value || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    const kind = ID_FIELDS[k];
    if (typeof v === 'string' && kind && kind !== 'any') out[k] = pool.pick(kind, pick)?.id ?? v;
    else out[k] = withPoolIds(v, pool, pick);
  }
  return out;
}

/** Path values for `op`: pool ids (a pipeline run with its own pipeline), or the drawn odd id. */
export function pathValues(op: Operation, drawn: Drawn, pool: IdPool): Record<string, string> | string {
  const values: Record<string, string> = {};
  const names = op.params.filter((p) => p.in === 'path').map((p) => p.name);
  for (const name of names) {
    if (drawn.oddId !== undefined) {
      values[name] = drawn.oddId;
      continue;
    }
    const kind = kindOfParam(op.url, name);
    if (!kind) return `no fixture kind for :${name} of ${op.method} ${op.path}`;
    // a nested object is taken with its own parent: the pipeline in the path is the run's
    if (kind === 'pipeline' && names.length > 1) continue;
    const item = pool.pick(kind, drawn.pick, op.method === 'DELETE');
    values[name] = item?.id ?? `${kind}_missing`;
    if (CHILD_OF_PIPELINE.includes(kind)) values.id = item?.parent ?? 'pl_missing';
  }
  return values;
}

/** Remembers every id a 2xx answer names (an object, a list's items); forgets a deleted one. */
export function harvest(pool: IdPool, op: Operation, path: Record<string, string>, text: string) {
  let body: any;
  try {
    body = JSON.parse(text);
  } catch {
    return;
  }
  const take = (o: any) => {
    if (typeof o?.id !== 'string') return;
    pool.add({ id: o.id, parent: o.pipeline_id ?? (o.object === 'pipeline_run' ? path.id : undefined) });
  };
  if (op.method === 'DELETE') {
    for (const id of Object.values(path)) if (!pool.keep.has(id) && kindOfId(id) !== 'run') pool.remove(id);
    return;
  }
  if (body?.object === 'list') for (const o of body.data ?? []) take(o);
  else take(body);
}

/**
 * The bytes of a malformed body built around a valid one, with its headers: the nesting and the
 * non-finite number go where the schema takes any JSON (a run's `input`), so nothing but the
 * malformation is wrong with it.
 */
export function malformedBody(
  op: Operation,
  body: unknown,
  m: Malformed,
): { raw: Buffer; headers: Record<string, string> } {
  const json = { 'content-type': 'application/json' };
  const object =
    body && typeof body === 'object' && !Array.isArray(body) ? (body as Record<string, unknown>) : {};
  const free = Object.entries<Schema>(op.body?.properties ?? {}).find(
    ([, s]) =>
      s.type === 'object' &&
      !s.properties &&
      (s.additionalProperties === undefined ||
        s.additionalProperties === true ||
        Object.keys(s.additionalProperties).length === 0),
  )?.[0];
  const text = JSON.stringify(body ?? {});
  const withHole = (value: string) =>
    free
      ? JSON.stringify({ ...object, [free]: { h: '__HOLE__' } }).replace('"__HOLE__"', value)
      : text.replace(/^\{/, `{"h":${value},`);
  switch (m.how) {
    case 'deep':
      return { raw: Buffer.from(withHole(`${'['.repeat(m.depth)}${']'.repeat(m.depth)}`)), headers: json };
    case 'non-finite':
      return { raw: Buffer.from(withHole(m.depth > 6_000 ? '-1e400' : '1e309')), headers: json };
    case 'duplicate-key': {
      const [k, v] = Object.entries(object)[0] ?? ['h', 1];
      const once = JSON.stringify({ ...object, [k]: v });
      return {
        raw: Buffer.from(`${once.slice(0, -1)}${once.length > 2 ? ',' : ''}"${k}":${JSON.stringify(v)}}`),
        headers: json,
      };
    }
    case 'invalid-utf8': {
      const [before, after] = withHole('"a__BAD__b"').split('__BAD__');
      return {
        raw: Buffer.concat([Buffer.from(before), Buffer.from([0xc3, 0x28, 0xff]), Buffer.from(after)]),
        headers: json,
      };
    }
    case 'utf16':
      return {
        raw: Buffer.from(text, 'utf16le'),
        headers: { 'content-type': 'application/json; charset=utf-16le' },
      };
    case 'gzip':
      return { raw: gzipSync(text), headers: { ...json, 'content-encoding': 'gzip' } };
  }
}
