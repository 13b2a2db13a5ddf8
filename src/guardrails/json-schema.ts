/**
 * JSON Schema compilation for `json_schema` rules: JSON Schema 2020-12 (the dialect of OpenAPI 3.1
 * and of pipeline input schemas) with the standard formats. A fresh Ajv per compiled policy keeps
 * policies independent (no shared registry, no `$id` clashes between tenants, nothing retained
 * after the policy is dropped). Remote `$ref`s are never fetched: they fail validation.
 */
import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import ajvFormats from 'ajv-formats';

// ajv-formats is CommonJS: its plugin function is the module's `default` export property.
const addFormats = ajvFormats.default;

export function createJsonValidator(schema: Record<string, unknown> | boolean): ValidateFunction {
  const ajv = new Ajv2020({ allErrors: false, strict: false, validateSchema: true });
  addFormats(ajv);
  return ajv.compile(schema);
}

export function describeSchemaError(errors: ErrorObject[] | null | undefined): string {
  const e = errors?.[0];
  if (!e) return 'does not match the schema';
  return `${e.instancePath || '(root)'} ${e.message ?? 'is invalid'}`;
}
