/**
 * A pipeline's `input_schema` (JSON Schema 2020-12, the dialect of OpenAPI 3.1): checked once at
 * create, then used to validate every trigger's `input`.
 *
 * One Ajv per validator object (built by the composition root, not at module load). Compiled
 * validators are cached by the schema's JSON text, bounded: schemas come from the database as
 * fresh objects, and Ajv's own cache is keyed by object identity and never shrinks, so each schema
 * is removed from Ajv right after compiling (`addUsedSchema: false` keeps user `$id`s out of its
 * registry too). Remote `$ref`s are never fetched: they fail the create.
 * `pattern`s run on V8's backtracking engine, so the ones with nested quantifiers are refused.
 */
import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import ajvFormats from 'ajv-formats';
import safeRegex from 'safe-regex2';
import { childParam } from './template.ts';

// ajv-formats is CommonJS: its plugin function is the module's `default` export property.
const addFormats = ajvFormats.default;

export interface SchemaIssue {
  param: string;
  message: string;
  code: 'parameter_missing' | 'parameter_unknown' | 'parameter_invalid' | 'invalid_input_schema';
}

export type InputCheck = { ok: true } | ({ ok: false } & SchemaIssue);

export interface InputValidator {
  /** Is this a usable JSON Schema? Issues point into `input_schema`. */
  checkSchema(schema: unknown): SchemaIssue | null;
  /** Validates a trigger's input; issues point into `input`. Assumes checkSchema passed. */
  validate(schema: unknown, input: unknown): SchemaIssue | null;
}

function pointerToParam(base: string, pointer: string): string {
  return pointer
    .split('/')
    .slice(1)
    .map((part) => part.replace(/~1/g, '/').replace(/~0/g, '~'))
    .reduce((acc, part) => childParam(acc, /^\d+$/.test(part) ? Number(part) : part), base);
}

function inputIssue(error: ErrorObject): SchemaIssue {
  const at = pointerToParam('input', error.instancePath);
  switch (error.keyword) {
    case 'required': {
      const param = childParam(at, String(error.params.missingProperty));
      return { code: 'parameter_missing', param, message: `Missing required field: ${param}` };
    }
    case 'additionalProperties': {
      const param = childParam(at, String(error.params.additionalProperty));
      return { code: 'parameter_unknown', param, message: `Unknown field: ${param}` };
    }
    default:
      return {
        code: 'parameter_invalid',
        param: at,
        message: `Invalid field ${at}: ${error.message ?? 'invalid value'}`,
      };
  }
}

/** The first `pattern` (or `patternProperties` key) that could backtrack exponentially. */
function unsafePattern(schema: unknown, param: string): string | null {
  if (schema === null || typeof schema !== 'object') return null;
  for (const [key, value] of Object.entries(schema)) {
    const here = childParam(param, Array.isArray(schema) ? Number(key) : key);
    if (key === 'pattern' && typeof value === 'string' && !safeRegex(value)) return here;
    if (key === 'patternProperties' && value && typeof value === 'object') {
      const bad = Object.keys(value).find((pattern) => !safeRegex(pattern));
      if (bad !== undefined) return childParam(here, bad);
    }
    const nested = unsafePattern(value, here);
    if (nested) return nested;
  }
  return null;
}

export function createInputValidator(options: { cacheSize?: number } = {}): InputValidator {
  const cacheSize = options.cacheSize ?? 256;
  const ajv = new Ajv2020({ allErrors: false, strict: false, addUsedSchema: false });
  addFormats(ajv);
  const cache = new Map<string, ValidateFunction>();

  const compile = (schema: object | boolean): ValidateFunction => {
    const key = JSON.stringify(schema);
    const hit = cache.get(key);
    if (hit) {
      cache.delete(key); // re-insert: Map order is the LRU order
      cache.set(key, hit);
      return hit;
    }
    const validate = ajv.compile(schema);
    ajv.removeSchema(schema);
    cache.set(key, validate);
    if (cache.size > cacheSize) cache.delete(cache.keys().next().value as string);
    return validate;
  };

  const schemaIssue = (param: string, detail: string): SchemaIssue => ({
    code: 'invalid_input_schema',
    param,
    message: `input_schema is not a valid JSON Schema: ${detail}`,
  });

  return {
    checkSchema(schema) {
      if (
        typeof schema !== 'boolean' &&
        (schema === null || typeof schema !== 'object' || Array.isArray(schema))
      ) {
        return schemaIssue('input_schema', 'must be an object or a boolean');
      }
      try {
        if (!ajv.validateSchema(schema)) {
          const first = ajv.errors?.[0];
          const param = pointerToParam('input_schema', first?.instancePath ?? '');
          return schemaIssue(param, `${param} ${first?.message ?? 'is invalid'}`);
        }
        const badPattern = unsafePattern(schema, 'input_schema');
        if (badPattern) return schemaIssue(badPattern, `${badPattern} may take exponential time`);
        compile(schema);
        return null;
      } catch (error) {
        return schemaIssue('input_schema', error instanceof Error ? error.message : String(error));
      }
    },
    validate(schema, input) {
      if (schema === undefined || schema === null) return null;
      const validate = compile(schema as object | boolean);
      if (validate(input)) return null;
      const first = validate.errors?.[0];
      return first
        ? inputIssue(first)
        : { code: 'parameter_invalid', param: 'input', message: 'Invalid field input' };
    },
  };
}

/**
 * Validates a trigger's `input` against the pipeline's `input_schema` (absent → anything goes).
 * Pass the app's validator to reuse its cache; the default builds a fresh one.
 */
export function validateTriggerInput(
  inputSchema: unknown,
  input: unknown,
  validator: InputValidator = createInputValidator(),
): InputCheck {
  const issue = validator.validate(inputSchema, input);
  return issue ? { ok: false, ...issue } : { ok: true };
}
