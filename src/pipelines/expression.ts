/**
 * One JSONata expression inside a pipeline definition: parsed once, analysed statically, evaluated
 * in a sandbox.
 *
 * Why JSONata: it is a query language over JSON with no access to JavaScript (property lookup is
 * own-properties only, so `input.constructor` is undefined), and 2.x bounds evaluation through
 * its options: wall time per evaluation (`timeout`, checked on every AST node), nesting depth
 * (`stack`) and sequence length (`sequence`). What those bounds cannot interrupt is a single
 * synchronous built-in call, so the few such holes are closed at compile time:
 *  - regular expressions are compiled by V8's backtracking engine: literals whose star height is
 *    above 1 (`(a+)+`) are refused (safe-regex2 heuristic — catches the classic catastrophic
 *    patterns, not every one);
 *  - `$eval` would parse a string at run time, escaping both the static step analysis and the
 *    regex check; `$random` and `$shuffle` would make a scheduling decision non-deterministic.
 *    They are refused at compile time and also shadowed at run time;
 *  - `$now()` / `$millis()` return the caller's clock instead of the wall clock, so a decision
 *    replayed with the same `now` renders the same values.
 * Results are size-checked by the template layer (template.ts), not here.
 */
import jsonata from 'jsonata';
import safeRegex from 'safe-regex2';

/** Per-evaluation wall-time bound. */
export const EXPRESSION_TIMEOUT_MS = 50;
/** JSONata evaluation depth bound (nested calls, non-tail recursion). */
export const MAX_EVALUATION_DEPTH = 300;
/** Longest sequence an expression may build (`[1..n]`, mapped paths). */
export const MAX_SEQUENCE_LENGTH = 100_000;
export const MAX_EXPRESSION_LENGTH = 10_000;

/** What an expression may read below `steps.<id>`. */
export const STEP_FIELDS = ['output', 'status', 'error'] as const;

const FORBIDDEN_FUNCTIONS = ['eval', 'random', 'shuffle'] as const;

export const TemplateErrorCodes = {
  syntax: 'invalid_expression',
  forbidden: 'forbidden_expression',
  timeout: 'expression_timeout',
  depth: 'expression_too_deep',
  evaluation: 'expression_error',
  result: 'invalid_expression_result',
  tooLarge: 'template_output_too_large',
} as const;
export type TemplateErrorCode = (typeof TemplateErrorCodes)[keyof typeof TemplateErrorCodes];

/**
 * A compile or render failure, pointing at the definition field (`param`) it came from. The
 * message starts with that path too: it ends up in step errors, read without the param beside it.
 */
export class TemplateError extends Error {
  readonly code: TemplateErrorCode;
  readonly param: string;
  constructor(code: TemplateErrorCode, param: string, message: string, options?: { cause?: unknown }) {
    super(param ? `${param}: ${message}` : message, options);
    this.name = 'TemplateError';
    this.code = code;
    this.param = param;
  }
}

export interface CompiledExpression {
  readonly source: string;
  /** Where the expression sits in the definition, e.g. `steps[2].input.query`. */
  readonly param: string;
  /** Step ids the expression names as `steps.<id>` (static analysis, first-seen order). */
  readonly steps: readonly string[];
  readonly evaluator: jsonata.Expression;
}

export interface ExpressionOptions {
  /** Per-evaluation time bound in ms; default EXPRESSION_TIMEOUT_MS. */
  timeoutMs?: number;
}

/** jsonata.d.ts lists fewer node types than the parser emits (`path`, `regex`, `bind`, …). */
type Node = Omit<jsonata.ExprNode, 'type' | 'steps'> & { type: string; steps?: Node[]; value?: unknown };

/** JSONata throws plain objects ({code, position, message}); normalise for messages. */
function describe(error: unknown): { code?: string; message: string; position?: number } {
  if (error && typeof error === 'object') {
    const e = error as { code?: unknown; message?: unknown; position?: unknown };
    return {
      code: typeof e.code === 'string' ? e.code : undefined,
      message: typeof e.message === 'string' ? e.message : String(error),
      position: typeof e.position === 'number' ? e.position : undefined,
    };
  }
  return { message: String(error) };
}

function parse(source: string, param: string, options: ExpressionOptions = {}): jsonata.Expression {
  if (source.trim() === '') throw new TemplateError(TemplateErrorCodes.syntax, param, 'Empty expression');
  if (source.length > MAX_EXPRESSION_LENGTH) {
    throw new TemplateError(
      TemplateErrorCodes.syntax,
      param,
      `Expression is longer than ${MAX_EXPRESSION_LENGTH} characters`,
    );
  }
  try {
    return jsonata(source, {
      timeout: options.timeoutMs ?? EXPRESSION_TIMEOUT_MS,
      stack: MAX_EVALUATION_DEPTH,
      sequence: MAX_SEQUENCE_LENGTH,
    });
  } catch (error) {
    const { message, position } = describe(error);
    const at = position === undefined ? '' : ` (at character ${position} of the expression)`;
    throw new TemplateError(TemplateErrorCodes.syntax, param, `Invalid expression: ${message}${at}`, {
      cause: error,
    });
  }
}

/** Visits every node of a JSONata AST. The processed AST may share nodes, hence `seen`. */
function walk(node: unknown, visit: (node: Node) => void, seen = new Set<object>()): void {
  if (node === null || typeof node !== 'object' || node instanceof RegExp || seen.has(node)) return;
  seen.add(node);
  if (Array.isArray(node)) {
    for (const child of node) walk(child, visit, seen);
    return;
  }
  if (typeof (node as Node).type === 'string') visit(node as Node);
  for (const child of Object.values(node)) walk(child, visit, seen);
}

const isName = (node: Node | undefined, value?: string): node is Node =>
  node?.type === 'name' && typeof node.value === 'string' && (value === undefined || node.value === value);

/**
 * `steps.<id>` references of a path node: the path starts with the name `steps`, or with `$$.`/`$.`
 * (the root) followed by it. Conservative: a `steps` path inside a nested context (a predicate
 * over `input.items`) is counted too, which can only make validation stricter.
 */
function stepReference(node: Node): { id: string; field?: Node } | null {
  if (node.type !== 'path' || !Array.isArray(node.steps)) return null;
  const path = node.steps;
  const first = path[0];
  const start = first?.type === 'variable' && (first.value === '' || first.value === '$') ? 1 : 0;
  const id = path[start + 1];
  if (!isName(path[start], 'steps') || !isName(id)) return null;
  return { id: id.value as string, field: path[start + 2] };
}

/** Step ids an expression names as `steps.<id>`, found by walking its AST, in first-seen order. */
export function referencedSteps(expression: string | jsonata.ExprNode): string[] {
  const ast = typeof expression === 'string' ? parse(expression, 'expression').ast() : expression;
  const ids = new Set<string>();
  walk(ast, (node) => {
    const ref = stepReference(node);
    if (ref) ids.add(ref.id);
  });
  return [...ids];
}

/** Parses and checks one expression; throws TemplateError carrying `param`. */
export function compileExpression(
  source: string,
  param: string,
  options: ExpressionOptions = {},
): CompiledExpression {
  const evaluator = parse(source, param, options);
  const steps = new Set<string>();
  walk(evaluator.ast(), (node) => {
    if (node.type === 'variable' && (FORBIDDEN_FUNCTIONS as readonly unknown[]).includes(node.value)) {
      throw new TemplateError(
        TemplateErrorCodes.forbidden,
        param,
        `$${node.value} is not available in pipeline expressions`,
      );
    }
    if (node.type === 'regex' && node.value instanceof RegExp && !safeRegex(node.value)) {
      throw new TemplateError(
        TemplateErrorCodes.forbidden,
        param,
        `Regular expression ${node.value} may take exponential time (nested quantifiers)`,
      );
    }
    const ref = stepReference(node);
    if (!ref) return;
    const field = ref.field;
    if (field && !(isName(field) && (STEP_FIELDS as readonly unknown[]).includes(field.value))) {
      throw new TemplateError(
        TemplateErrorCodes.syntax,
        param,
        `steps.${ref.id} exposes only ${STEP_FIELDS.join(', ')}`,
      );
    }
    steps.add(ref.id);
  });
  return { source, param, steps: [...steps], evaluator };
}

/** A JSONata native function binding (what registerFunction would build, minus the signature). */
const native = (implementation: (this: jsonata.Focus, ...args: never[]) => unknown) => ({
  _jsonata_function: true,
  implementation,
});

function sandboxBindings(nowMs: number): Record<string, unknown> {
  const refuse = (name: string) =>
    native(() => {
      throw { code: 'AIRMY01', message: `$${name} is not available in pipeline expressions` };
    });
  return {
    ...Object.fromEntries(FORBIDDEN_FUNCTIONS.map((name) => [name, refuse(name)])),
    millis: native(() => nowMs),
    now: native(function (this: jsonata.Focus, picture?: string, timezone?: string) {
      const fromMillis = this.environment.lookup('fromMillis') as {
        implementation: (this: jsonata.Focus, ms: number, picture?: string, tz?: string) => string;
      };
      return fromMillis.implementation.call(this, nowMs, picture, timezone);
    }),
  };
}

/**
 * Evaluates against `document` (for pipelines: `{input, steps}`). Returns JSONata's raw result
 * (undefined for a missing path). Throws TemplateError: timeout, depth, or evaluation error.
 */
export async function evaluateExpression(
  compiled: CompiledExpression,
  document: unknown,
  nowMs: number,
): Promise<unknown> {
  try {
    return await compiled.evaluator.evaluate(document, sandboxBindings(nowMs));
  } catch (error) {
    const { code, message } = describe(error);
    const mapped =
      code === 'D1012'
        ? TemplateErrorCodes.timeout
        : code === 'D1011' || (error instanceof RangeError && /call stack/i.test(error.message))
          ? TemplateErrorCodes.depth
          : TemplateErrorCodes.evaluation;
    throw new TemplateError(mapped, compiled.param, message, { cause: error });
  }
}

/** JSONata's `$boolean` cast: how `when` results are read. */
export function isTruthy(value: unknown): boolean {
  if (value === undefined || value === null) return false;
  if (Array.isArray(value)) return value.some(isTruthy);
  switch (typeof value) {
    case 'boolean':
      return value;
    case 'string':
      return value.length > 0;
    case 'number':
      return value !== 0;
    case 'object':
      return Object.keys(value).length > 0 && !('_jsonata_lambda' in value);
    default:
      return false;
  }
}
