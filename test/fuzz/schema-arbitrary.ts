/**
 * JSON Schema (the subset the server's OpenAPI 3.1 document uses: type, enum, anyOf, properties,
 * required, additionalProperties, min/max length/items/properties, minimum/maximum, pattern,
 * format date-time, $ref) → fast-check arbitraries: `valid(schema)` draws values the schema
 * accepts, `invalid(schema)` values it most likely refuses (a wrong type, a missing required
 * field, an unknown field, one past a bound, a broken pattern or enum, anywhere in the tree).
 * Whether a drawn value is valid is decided afterwards by Ajv against the same document, never by
 * this file: the generator may be wrong, the verdict may not.
 *
 * Hand-written because no maintained JSON-Schema-to-fast-check library exists for fast-check 4
 * (json-schema-fast-check pins fast-check 1); fast-check itself does the hard part (stringMatching).
 */
import fc from 'fast-check';

export type Schema = Record<string, any>;

export interface ArbitraryOptions {
  /** resolves `$ref` (e.g. "#/components/schemas/Run") */
  resolve?: (ref: string) => Schema;
  /**
   * A narrower arbitrary for a property by name, where the schema's range is valid but costs the
   * server real time (a mock model's latency): the fuzz is for input handling, not for waiting.
   */
  practical?: Record<string, fc.Arbitrary<unknown>>;
}

/** Keys a JSON parser refuses on principle (prototype poisoning); never a valid field name. */
const POISON = new Set(['__proto__', 'constructor', 'prototype']);

/** Text with odd unicode (astral, combining, RTL, zero-width) but no NUL: the server refuses NUL. */
const text = (minLength = 0, maxLength = 40) =>
  fc
    .oneof(
      {
        weight: 3,
        arbitrary: fc.string({ minLength, maxLength: Math.max(minLength, Math.min(maxLength, 40)) }),
      },
      {
        weight: 2,
        arbitrary: fc.string({
          unit: 'grapheme',
          minLength,
          maxLength: Math.max(minLength, Math.min(maxLength, 20)),
        }),
      },
      {
        weight: 1,
        arbitrary: fc.string({
          unit: 'binary',
          minLength,
          maxLength: Math.max(minLength, Math.min(maxLength, 20)),
        }),
      },
      {
        weight: 1,
        // exactly at the bound, counted in code points as JSON Schema does (an astral character is one)
        arbitrary: fc
          .constantFrom('x', '𝕏', 'é', '\u202e', 'a\u0301')
          .map((c) =>
            [...c.repeat(Math.max(minLength, Math.min(maxLength, 100_000)))].slice(0, maxLength).join(''),
          ),
      },
    )
    .map((s) => s.replaceAll('\0', ''))
    .filter((s) => [...s].length >= minLength && [...s].length <= maxLength);

const key = fc.string({ minLength: 1, maxLength: 12 }).filter((k) => !POISON.has(k) && !k.includes('\0'));

const anyJson = fc
  .jsonValue({ maxDepth: 2 })
  .filter(
    (v) =>
      !JSON.stringify(v).includes('\\u0000') &&
      !/"(__proto__|constructor|prototype)":/.test(JSON.stringify(v)),
  );

function isoDate() {
  return fc
    .date({
      min: new Date('1970-01-01T00:00:00Z'),
      max: new Date('2100-01-01T00:00:00Z'),
      noInvalidDate: true,
    })
    .map((d) => d.toISOString());
}

/** `base` with a oneOf branch's properties laid over it (`false` removes one) and its required added. */
function narrowed(base: Schema, branch: Schema): Schema {
  const properties: Record<string, Schema> = { ...base.properties };
  for (const [key, sub] of Object.entries<Schema | false>(branch.properties ?? {})) {
    if (sub === false) delete properties[key];
    else properties[key] = sub;
  }
  const required = [...new Set([...(base.required ?? []), ...(branch.required ?? [])])].filter(
    (key) => key in properties,
  );
  return { ...base, properties, required };
}

function typesOf(schema: Schema): string[] | undefined {
  if (schema.type === undefined) return undefined;
  return Array.isArray(schema.type) ? schema.type : [schema.type];
}

export function valid(schema: Schema, options: ArbitraryOptions = {}, name?: string): fc.Arbitrary<unknown> {
  if (name && options.practical?.[name]) return options.practical[name];
  if (schema.$ref) return valid(options.resolve!(schema.$ref), options, name);
  if (schema.const !== undefined) return fc.constant(schema.const);
  if (schema.enum) return fc.constantFrom(...schema.enum);
  // an object whose oneOf branches narrow its own properties (connectors: one branch per kind)
  if (schema.oneOf && schema.properties) {
    const { oneOf, discriminator: _d, ...base } = schema;
    return fc.oneof(...oneOf.map((b: Schema) => valid(narrowed(base, b), options, name)));
  }
  const branches = schema.anyOf ?? schema.oneOf;
  if (branches) return fc.oneof(...branches.map((b: Schema) => valid(b, options, name)));
  const types = typesOf(schema);
  if (!types) return schema.properties ? validObject(schema, options) : anyJson;
  if (types.length > 1) return fc.oneof(...types.map((type) => valid({ ...schema, type }, options, name)));
  switch (types[0]) {
    case 'string':
      return validString(schema);
    case 'integer':
    case 'number':
      return validNumber(schema, types[0] === 'integer');
    case 'boolean':
      return fc.boolean();
    case 'null':
      return fc.constant(null);
    case 'array': {
      const min = schema.minItems ?? 0;
      const max = Math.min(schema.maxItems ?? 5, min + 5);
      return fc.array(schema.items ? valid(schema.items, options) : anyJson, {
        minLength: min,
        maxLength: max,
      });
    }
    case 'object':
      return validObject(schema, options);
    default:
      return anyJson;
  }
}

function validString(schema: Schema): fc.Arbitrary<string> {
  const min = schema.minLength ?? 0;
  const max = schema.maxLength ?? 200;
  const fits = (s: string) => [...s].length >= min && [...s].length <= max && !s.includes('\0');
  const examples: string[] = (schema.examples ?? []).filter((e: unknown) => typeof e === 'string');
  const orExamples = (a: fc.Arbitrary<string>) =>
    examples.length ? fc.oneof(a, fc.constantFrom(...examples)) : a;
  if (schema.format === 'date-time') return isoDate();
  if (schema.format === 'uri') return fc.webUrl().filter(fits);
  if (schema.format === 'email') return fc.emailAddress().filter(fits);
  if (schema.pattern) {
    const re = new RegExp(schema.pattern, 'u');
    try {
      return orExamples(fc.stringMatching(re).filter(fits));
    } catch {
      // a pattern fast-check cannot invert (lookarounds): the documented examples, else plain words
      if (examples.length) return fc.constantFrom(...examples);
      const words = ['a', 'abc', 'a_1', 'openai/gpt-4.1-mini'].filter((w) => re.test(w) && fits(w));
      // none fits: plain text, which Ajv will mostly call invalid (the verdict is Ajv's anyway)
      return words.length ? fc.constantFrom(...words) : text(min, max);
    }
  }
  return orExamples(text(min, max));
}

function validNumber(schema: Schema, integer: boolean): fc.Arbitrary<number> {
  const min =
    schema.minimum ?? (schema.exclusiveMinimum !== undefined ? schema.exclusiveMinimum + 1 : undefined);
  const max =
    schema.maximum ?? (schema.exclusiveMaximum !== undefined ? schema.exclusiveMaximum - 1 : undefined);
  if (integer) {
    const lo = Math.ceil(min ?? -1e9);
    const hi = Math.floor(max ?? 1e9);
    return fc.oneof(fc.integer({ min: lo, max: hi }), fc.constantFrom(lo, hi));
  }
  const lo = min ?? -1e12;
  const hi = max ?? 1e12;
  return fc.oneof(
    fc
      .double({ min: lo, max: hi, noNaN: true, noDefaultInfinity: true })
      .map((n) => (Object.is(n, -0) ? 0 : n)),
    fc.constantFrom(lo, hi),
  );
}

function validObject(schema: Schema, options: ArbitraryOptions): fc.Arbitrary<Record<string, unknown>> {
  const properties: Record<string, Schema> = schema.properties ?? {};
  const required: string[] = (schema.required ?? []).filter((k: string) => k in properties);
  const model: Record<string, fc.Arbitrary<unknown>> = {};
  for (const [k, s] of Object.entries(properties)) model[k] = valid(s, options, k);
  const base = fc.record(model, { requiredKeys: required });
  const extra = schema.additionalProperties;
  const maxProps = schema.maxProperties ?? Number.POSITIVE_INFINITY;
  const minProps = schema.minProperties ?? 0;
  if (extra === false || (extra === undefined && schema.properties)) {
    return base.filter((o) => Object.keys(o).length <= maxProps && Object.keys(o).length >= minProps);
  }
  const valueArb = extra && extra !== true ? valid(extra, options) : anyJson;
  const room = Math.min(Math.max(0, maxProps - Object.keys(properties).length), 5);
  return fc
    .tuple(
      base,
      fc.dictionary(
        key.filter((k) => !(k in properties)),
        valueArb,
        { minKeys: Math.min(minProps, room), maxKeys: room },
      ),
    )
    .map(([b, d]) => ({ ...d, ...b }))
    .filter((o) => Object.keys(o).length <= maxProps && Object.keys(o).length >= minProps);
}

/** A value of another JSON type than the schema wants (or of every type, for a typeless schema). */
/** Every JSON type a schema admits, through nested anyOf/oneOf. */
function admitted(schema: Schema): string[] {
  const branches: Schema[] = schema.anyOf ?? schema.oneOf ?? [];
  return [...(typesOf(schema) ?? []), ...branches.flatMap(admitted)];
}

function wrongType(schema: Schema): fc.Arbitrary<unknown> {
  const types = new Set(admitted(schema));
  const all: [string, fc.Arbitrary<unknown>][] = [
    ['string', fc.constantFrom('', '1', 'true', 'null', '[]')],
    ['integer', fc.constantFrom(0, 1, -1, 2 ** 53)],
    ['number', fc.constantFrom(1.5, -0.25, 1e300)],
    ['boolean', fc.boolean()],
    ['null', fc.constant(null)],
    ['array', fc.constantFrom([], [1], ['a'])],
    ['object', fc.constantFrom({}, { a: 1 })],
  ];
  const others = all.filter(([t]) => !types.has(t) && !(t === 'integer' && types.has('number')));
  return fc.oneof(...others.map(([, a]) => a));
}

/** Values that (most likely) break the schema somewhere; Ajv has the final word. */
export function invalid(schema: Schema, options: ArbitraryOptions = {}, depth = 0): fc.Arbitrary<unknown> {
  if (schema.$ref) return invalid(options.resolve!(schema.$ref), options, depth);
  const out: fc.Arbitrary<unknown>[] = [];
  const types = typesOf(schema) ?? (schema.properties ? ['object'] : []);
  if (types.length || schema.enum || schema.anyOf) out.push(wrongType(schema));
  if (schema.enum) out.push(fc.constantFrom('', 'NOT_IN_ENUM', `${schema.enum[0]} `));
  for (const branch of schema.anyOf ?? []) {
    if (branch.enum) out.push(fc.constantFrom('', 'NOT_IN_ENUM', String(branch.enum[0]).toUpperCase()));
  }
  if (types.includes('string')) {
    if (schema.maxLength !== undefined && schema.maxLength < 200_000)
      out.push(fc.constantFrom('x', '𝕏').map((c) => c.repeat(schema.maxLength + 1)));
    if (schema.minLength) out.push(fc.constant('x'.repeat(schema.minLength - 1)));
    if (schema.pattern) out.push(fc.constantFrom('', '-', 'Ä', ' a', 'a b', '9x', 'x'.repeat(300)));
    if (schema.format === 'date-time')
      out.push(fc.constantFrom('yesterday', '2026-13-01T00:00:00Z', '2026-01-01'));
  }
  if (types.includes('integer') || types.includes('number')) {
    if (schema.maximum !== undefined) out.push(fc.constantFrom(schema.maximum + 1, schema.maximum * 10 + 1));
    if (schema.minimum !== undefined) out.push(fc.constantFrom(schema.minimum - 1, -(2 ** 53)));
    if (types.includes('integer') && !types.includes('number')) out.push(fc.constantFrom(0.5, 1.000001));
  }
  if (types.includes('array')) {
    if (schema.maxItems !== undefined && schema.items)
      out.push(
        fc.array(valid(schema.items, options), {
          minLength: schema.maxItems + 1,
          maxLength: schema.maxItems + 1,
        }),
      );
    if (schema.items && depth < 4) out.push(invalid(schema.items, options, depth + 1).map((bad) => [bad]));
  }
  if (types.includes('object')) {
    const properties: Record<string, Schema> = schema.properties ?? {};
    const base = validObject(schema, options);
    for (const k of schema.required ?? []) {
      out.push(
        base.map((o) => {
          const { [k]: _dropped, ...rest } = o;
          return rest;
        }),
      );
    }
    if (schema.additionalProperties === false) {
      out.push(
        fc
          .tuple(
            base,
            key.filter((k) => !(k in properties)),
            anyJson,
          )
          .map(([o, k, v]) => ({ ...o, [k]: v })),
      );
    }
    if (depth < 4) {
      for (const [k, s] of Object.entries(properties)) {
        // a property that takes any JSON value cannot be broken by its value
        if (!admitted(s).length && !s.enum && s.const === undefined && !s.properties && !s.$ref) continue;
        out.push(fc.tuple(base, invalid(s, options, depth + 1)).map(([o, bad]) => ({ ...o, [k]: bad })));
      }
    }
    if (schema.maxProperties !== undefined && schema.maxProperties < 100 && schema.additionalProperties) {
      out.push(
        fc.constant(
          Object.fromEntries(Array.from({ length: schema.maxProperties + 1 }, (_, i) => [`k${i}`, 'v'])),
        ),
      );
    }
  }
  return out.length ? fc.oneof(...out) : wrongType(schema);
}
