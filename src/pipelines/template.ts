/**
 * JSON templates: a step's `input`, a pipeline's `output`. Any JSON value; strings may embed
 * `{{ expression }}` (JSONata, see expression.ts). Compiled once (every expression parsed and
 * checked at pipeline create), rendered many times.
 *
 * Rendering rules (stated here because users will rely on them):
 *  - A string that is exactly one placeholder, with nothing around it, yields the expression's
 *    value with its JSON type (object, array, number, boolean, null). A missing path (JSONata
 *    `undefined`) yields `null`, so the rendered shape never depends on the data.
 *  - Any other string interpolates: strings as they are, numbers and booleans as text, objects and
 *    arrays as JSON, `null` and missing as the empty string.
 *  - Object keys are literal; only values are templated.
 *  - A placeholder ends at the first `}}` at which the enclosed text parses, so object
 *    constructors work (`{{ {"a": {"b": 1}} }}`). There is no escape syntax: a literal `{{` is
 *    written `{{ "{{" }}`.
 *  - A result that is a function is an error, and so is a rendered template larger than
 *    `maxChars` (counted on string lengths before anything is serialised).
 */
import {
  type CompiledExpression,
  compileExpression,
  type ExpressionOptions,
  evaluateExpression,
  isTruthy,
  TemplateError,
  TemplateErrorCodes,
} from './expression.ts';

export {
  type CompiledExpression,
  referencedSteps,
  TemplateError,
  type TemplateErrorCode,
  TemplateErrorCodes,
} from './expression.ts';

/** Total wall time for rendering one template (each expression is also bounded on its own). */
export const RENDER_BUDGET_MS = 250;
/** Largest rendered template, in characters of strings and keys. */
export const MAX_RENDERED_CHARS = 4_000_000;
const MAX_RESULT_DEPTH = 64;
/** `}}` candidates tried per placeholder: bounds compile time on hostile strings. */
const MAX_CLOSE_CANDIDATES = 16;

export type CompiledTemplate =
  | { readonly kind: 'literal'; readonly value: unknown }
  | { readonly kind: 'expression'; readonly expression: CompiledExpression }
  | { readonly kind: 'interpolation'; readonly parts: readonly (string | CompiledExpression)[] }
  | { readonly kind: 'array'; readonly items: readonly CompiledTemplate[] }
  | { readonly kind: 'object'; readonly entries: readonly (readonly [string, CompiledTemplate])[] };

export interface CompileOptions extends ExpressionOptions {
  /** Definition path of the value, used in error `param`s; default `''`. */
  param?: string;
}

/** What expressions see: `input` and `steps.<id>.{status, output, error}`. */
export interface RenderContext {
  input: unknown;
  steps: Record<string, { status: string; output: unknown; error: unknown }>;
}

export interface RenderOptions {
  /** What `$now()` / `$millis()` return (ms since epoch). Default Date.now(). */
  now?: number;
  /** Total time for this render; default RENDER_BUDGET_MS. */
  budgetMs?: number;
  /** Default MAX_RENDERED_CHARS. */
  maxChars?: number;
}

/** Definition paths as the API reports them: `steps[2].input.query`, `output["odd key"]`. */
export function childParam(base: string, key: string | number): string {
  if (typeof key === 'number') return `${base}[${key}]`;
  if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) return base ? `${base}.${key}` : key;
  return `${base}[${JSON.stringify(key)}]`;
}

function compileString(text: string, param: string, options: ExpressionOptions): CompiledTemplate {
  const parts: (string | CompiledExpression)[] = [];
  let cursor = 0;
  for (let open = text.indexOf('{{'); open !== -1; open = text.indexOf('{{', cursor)) {
    if (open > cursor) parts.push(text.slice(cursor, open));
    let close = text.indexOf('}}', open + 2);
    if (close === -1) throw new TemplateError(TemplateErrorCodes.syntax, param, 'Unclosed {{ in template');
    let compiled: CompiledExpression | undefined;
    let firstError: TemplateError | undefined;
    for (let tries = 0; close !== -1 && tries < MAX_CLOSE_CANDIDATES; tries++) {
      try {
        compiled = compileExpression(text.slice(open + 2, close), param, options);
        break;
      } catch (error) {
        if (!(error instanceof TemplateError) || error.code !== TemplateErrorCodes.syntax) throw error;
        firstError ??= error;
        close = text.indexOf('}}', close + 1);
      }
    }
    if (!compiled) throw firstError as TemplateError;
    parts.push(compiled);
    cursor = close + 2;
  }
  if (cursor < text.length) parts.push(text.slice(cursor));
  if (parts.length === 1 && typeof parts[0] !== 'string') return { kind: 'expression', expression: parts[0] };
  if (parts.every((part) => typeof part === 'string')) return { kind: 'literal', value: text };
  return { kind: 'interpolation', parts };
}

/** Parses every placeholder of a JSON value once. Throws TemplateError with the failing `param`. */
export function compileTemplate(value: unknown, options: CompileOptions = {}): CompiledTemplate {
  const { param = '', ...expressionOptions } = options;
  if (typeof value === 'string') return compileString(value, param, expressionOptions);
  if (Array.isArray(value)) {
    const items = value.map((item, i) => compileTemplate(item, { ...options, param: childParam(param, i) }));
    return items.every((item) => item.kind === 'literal')
      ? { kind: 'literal', value }
      : { kind: 'array', items };
  }
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value).map(
      ([key, item]) => [key, compileTemplate(item, { ...options, param: childParam(param, key) })] as const,
    );
    return entries.every(([, item]) => item.kind === 'literal')
      ? { kind: 'literal', value }
      : { kind: 'object', entries };
  }
  return { kind: 'literal', value };
}

/**
 * A `when` condition: a bare JSONata expression, or the same wrapped in one `{{ }}` (both are
 * common in CI tools, so both are accepted). Anything else is refused.
 */
export function compileCondition(source: string, options: CompileOptions = {}): CompiledExpression {
  const param = options.param ?? '';
  if (!source.includes('{{')) return compileExpression(source, param, options);
  const template = compileString(source, param, options);
  if (template.kind !== 'expression') {
    throw new TemplateError(TemplateErrorCodes.syntax, param, 'A condition must be a single expression');
  }
  return template.expression;
}

/** Every expression of a compiled template, in document order (for static checks). */
export function templateExpressions(template: CompiledTemplate): CompiledExpression[] {
  switch (template.kind) {
    case 'literal':
      return [];
    case 'expression':
      return [template.expression];
    case 'interpolation':
      return template.parts.filter((part): part is CompiledExpression => typeof part !== 'string');
    case 'array':
      return template.items.flatMap(templateExpressions);
    case 'object':
      return template.entries.flatMap(([, item]) => templateExpressions(item));
  }
}

interface RenderState {
  readonly context: RenderContext;
  readonly now: number;
  readonly deadline: number;
  readonly maxChars: number;
  chars: number;
}

/** Converts a JSONata result to plain JSON, counting its size; lambdas and cycles are refused. */
function toJson(value: unknown, param: string, state: RenderState, depth = 0): unknown {
  if (depth > MAX_RESULT_DEPTH) {
    throw new TemplateError(TemplateErrorCodes.result, param, `Result nested too deeply`);
  }
  if (value === undefined || value === null || typeof value === 'boolean') return value ?? null;
  if (typeof value === 'number') {
    if (Number.isFinite(value)) return value;
    throw new TemplateError(TemplateErrorCodes.result, param, `Result is not a JSON number`);
  }
  if (typeof value === 'string') {
    state.chars += value.length;
    if (state.chars > state.maxChars) {
      throw new TemplateError(
        TemplateErrorCodes.tooLarge,
        param,
        `Rendered value exceeds ${state.maxChars} characters`,
      );
    }
    return value;
  }
  if (Array.isArray(value)) return value.map((item) => toJson(item, param, state, depth + 1));
  if (typeof value === 'object' && !('_jsonata_lambda' in value) && !('_jsonata_function' in value)) {
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) {
      if (item === undefined) continue;
      state.chars += key.length;
      out[key] = toJson(item, param, state, depth + 1);
    }
    return out;
  }
  throw new TemplateError(TemplateErrorCodes.result, param, `Result is a function, not JSON`);
}

async function evaluate(expression: CompiledExpression, state: RenderState): Promise<unknown> {
  if (Date.now() > state.deadline) {
    throw new TemplateError(TemplateErrorCodes.timeout, expression.param, `Template rendering took too long`);
  }
  return evaluateExpression(expression, state.context, state.now);
}

function interpolated(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return JSON.stringify(value);
}

async function renderNode(template: CompiledTemplate, state: RenderState): Promise<unknown> {
  switch (template.kind) {
    case 'literal':
      // A copy: the caller may mutate what it gets, the compiled template is shared.
      return typeof template.value === 'object' ? structuredClone(template.value) : template.value;
    case 'expression': {
      const raw = await evaluate(template.expression, state);
      return toJson(raw, template.expression.param, state);
    }
    case 'interpolation': {
      let text = '';
      for (const part of template.parts) {
        text +=
          typeof part === 'string'
            ? part
            : interpolated(toJson(await evaluate(part, state), part.param, state));
      }
      return text;
    }
    case 'array': {
      const items: unknown[] = [];
      for (const item of template.items) items.push(await renderNode(item, state));
      return items;
    }
    case 'object': {
      const out: Record<string, unknown> = {};
      for (const [key, item] of template.entries) out[key] = await renderNode(item, state);
      return out;
    }
  }
}

/** Renders a compiled template against a context. Throws TemplateError (with `param`). */
export function render(
  template: CompiledTemplate,
  context: RenderContext,
  options: RenderOptions = {},
): Promise<unknown> {
  const now = options.now ?? Date.now();
  return renderNode(template, {
    context,
    now,
    deadline: Date.now() + (options.budgetMs ?? RENDER_BUDGET_MS),
    maxChars: options.maxChars ?? MAX_RENDERED_CHARS,
    chars: 0,
  });
}

/** Evaluates a `when` condition with JSONata's `$boolean` semantics. Throws TemplateError. */
export async function evaluateCondition(
  condition: CompiledExpression,
  context: RenderContext,
  options: RenderOptions = {},
): Promise<boolean> {
  return isTruthy(await evaluateExpression(condition, context, options.now ?? Date.now()));
}
