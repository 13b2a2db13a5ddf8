/**
 * Where a field's rules are checked by the service rather than by the route schema — a pipeline
 * definition (422 with the exact `steps[2].retry.backoff_ms`), scopes (422 `invalid_scope`), model
 * ids (422 `unknown_model`), per-kind connector fields (422 `invalid_for_kind`) — the validation
 * schema stays loose so those precise answers survive, and the document still shows the real
 * shape: `documentedAs(loose, precise)` carries the precise schema under DOC_KEYWORD (Ajv, not
 * strict, ignores it) and `openapiTransform` (the swagger plugin's transform) swaps it in.
 * A client generated from the document thus knows every enum, pattern and per-kind field.
 */

const DOC_KEYWORD = 'x-documented-as';

/** `schema` for validation, `documented` for the OpenAPI document. */
export function documentedAs<T extends object>(schema: T, documented: object): T {
  return { ...schema, [DOC_KEYWORD]: documented };
}

function swap(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(swap);
  if (schema === null || typeof schema !== 'object') return schema;
  const record = schema as Record<string, unknown>;
  if (DOC_KEYWORD in record) return swap(record[DOC_KEYWORD]);
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(record)) out[key] = swap(value);
  return out;
}

/** @fastify/swagger `transform`: request schemas as documented. */
export function openapiTransform({
  schema,
  url,
}: {
  schema: Record<string, unknown> | undefined;
  url: string;
}) {
  if (!schema) return { schema, url };
  const { body, querystring } = schema;
  return {
    schema: {
      ...schema,
      ...(body === undefined ? {} : { body: swap(body) }),
      ...(querystring === undefined ? {} : { querystring: swap(querystring) }),
    },
    url,
  };
}
