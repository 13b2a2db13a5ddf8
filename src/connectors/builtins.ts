/**
 * The built-in public connectors every organization may use: `http_fetch`, `calculator`,
 * `current_time`. Each is a ToolDefinition whose input is validated here (the model may send
 * anything) and whose failures are ToolErrors the model sees as the tool's result.
 *
 * calculator: mathjs, never `eval`. Per the mathjs security guide the functions that alter the
 * instance or parse nested input (`import`, `createUnit`, `evaluate`, `parse`, `simplify`,
 * `derivative`, `compile`, `resolve`, …) are replaced inside expressions by ones that throw; the
 * functions that build arrays of a requested size (`range` and with it `1:n`, `zeros`, `ones`,
 * `identity`, `random`, `kron`, …) are too, and expressions are bounded in length, so an expression
 * cannot allocate much. Known limit: it runs on the event loop; a pathological expression within
 * those bounds (e.g. a large factorial of a bignumber) could still take a noticeable while.
 */
import { all, create, type MathJsInstance } from 'mathjs';
import type { Clock } from '../clock.ts';
import { type Egress, EgressError } from '../infra/egress/egress.ts';
import { type ToolDefinition, ToolError } from './tool.ts';

export const BUILTIN_NAMES = ['http_fetch', 'calculator', 'current_time'] as const;
export type BuiltinName = (typeof BUILTIN_NAMES)[number];
export const isBuiltin = (name: string): name is BuiltinName =>
  (BUILTIN_NAMES as readonly string[]).includes(name);

export const FETCH_TIMEOUT_MS = 10_000;
export const FETCH_MAX_BYTES = 1024 * 1024;
/** the text handed back to the model: every character costs prompt tokens on the next step */
export const FETCH_MAX_CHARS = 20_000;
const MAX_EXPRESSION_CHARS = 1000;
const MAX_RESULT_CHARS = 10_000;

export interface BuiltinInfo {
  name: BuiltinName;
  description: string;
  inputSchema: Record<string, unknown>;
}

export const BUILTINS: readonly BuiltinInfo[] = [
  {
    name: 'http_fetch',
    description:
      'Fetch a public web page or API with an HTTP GET and return its status, content type and text ' +
      `(truncated to ${FETCH_MAX_CHARS} characters). Private and internal addresses are refused.`,
    inputSchema: {
      type: 'object',
      properties: { url: { type: 'string', description: 'An absolute http(s) URL', maxLength: 2048 } },
      required: ['url'],
      additionalProperties: false,
    },
  },
  {
    name: 'calculator',
    description:
      'Evaluate a math expression exactly (mathjs syntax): arithmetic, powers, roots, trigonometry, ' +
      'logarithms, statistics on lists like [1, 2, 3], unit conversions like "5 km to mile".',
    inputSchema: {
      type: 'object',
      properties: {
        expression: { type: 'string', maxLength: MAX_EXPRESSION_CHARS, description: 'e.g. "sqrt(2) * 3^2"' },
      },
      required: ['expression'],
      additionalProperties: false,
    },
  },
  {
    name: 'current_time',
    description:
      'The current date and time, in UTC and optionally in an IANA time zone (e.g. "Europe/Paris").',
    inputSchema: {
      type: 'object',
      properties: { timezone: { type: 'string', maxLength: 64, description: 'IANA time zone name' } },
      additionalProperties: false,
    },
  },
];

const DISABLED = [
  'import',
  'createUnit',
  'evaluate',
  'parse',
  'simplify',
  'simplifyConstant',
  'simplifyCore',
  'rationalize',
  'derivative',
  'compile',
  'resolve',
  'parser',
  'reviver',
  'replacer',
  'range',
  'zeros',
  'ones',
  'identity',
  'random',
  'randomInt',
  'pickRandom',
  'kron',
  'resize',
  'diag',
  'matrixFromFunction',
  'map',
  'forEach',
  'apply',
] as const;

/** A mathjs instance whose expressions cannot reach the functions above; its own `evaluate` kept aside. */
function restrictedMath(): (expression: string) => unknown {
  const math: MathJsInstance = create(all, { number: 'number', matrix: 'Array' });
  const evaluate = math.evaluate.bind(math);
  const disabled: Record<string, () => never> = {};
  for (const name of DISABLED) {
    disabled[name] = () => {
      throw new Error(`Function ${name} is disabled`);
    };
  }
  math.import(disabled, { override: true });
  const format = math.format;
  return (expression) => format(evaluate(expression), { precision: 14 });
}

function object(input: unknown): Record<string, unknown> {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) {
    throw new ToolError('invalid_input', 'The input must be a JSON object');
  }
  return input as Record<string, unknown>;
}

function stringField(input: Record<string, unknown>, name: string, max: number, required: boolean) {
  const value = input[name];
  if (value === undefined && !required) return undefined;
  if (typeof value !== 'string' || value.length === 0 || value.length > max) {
    throw new ToolError('invalid_input', `"${name}" must be a non-empty string of at most ${max} characters`);
  }
  return value;
}

function onlyFields(input: Record<string, unknown>, allowed: string[]) {
  const extra = Object.keys(input).find((k) => !allowed.includes(k));
  if (extra !== undefined) throw new ToolError('invalid_input', `Unknown field "${extra}"`);
}

/** A refused or failed outbound request, as the model should see it. */
export function egressToolError(err: unknown): unknown {
  if (err instanceof EgressError) return new ToolError(err.code, err.message);
  return err;
}

const TEXTUAL =
  /^(text\/|application\/([\w.+-]*\+)?(json|xml|javascript|x-www-form-urlencoded)|application\/yaml)/i;

/** The local wall-clock time in a zone, as an ISO 8601 string with its UTC offset. */
function zonedIso(at: number, timeZone: string): { local: string; utc_offset: string } {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
    hourCycle: 'h23',
    timeZoneName: 'longOffset',
  }).formatToParts(at);
  const get = (type: string) => parts.find((p) => p.type === type)?.value ?? '';
  const offset = get('timeZoneName').replace('GMT', '') || '+00:00';
  return {
    local: `${get('year')}-${get('month')}-${get('day')}T${get('hour')}:${get('minute')}:${get('second')}${offset}`,
    utc_offset: offset,
  };
}

export function createBuiltins(deps: {
  egress: Egress;
  clock: Clock;
}): (name: BuiltinName) => ToolDefinition {
  let calculate: ((expression: string) => unknown) | undefined;
  const info = (name: BuiltinName) => BUILTINS.find((b) => b.name === name)!;

  const executors: Record<BuiltinName, ToolDefinition['execute']> = {
    async http_fetch(raw, { signal }) {
      const input = object(raw);
      onlyFields(input, ['url']);
      const url = stringField(input, 'url', 2048, true)!;
      let res: Awaited<ReturnType<Egress['fetch']>>;
      try {
        res = await deps.egress.fetch(
          url,
          { method: 'GET', headers: { accept: 'text/*, application/json;q=0.9, */*;q=0.5' }, signal },
          { timeoutMs: FETCH_TIMEOUT_MS, maxBytes: FETCH_MAX_BYTES },
        );
      } catch (err) {
        throw egressToolError(err);
      }
      const contentType = res.headers['content-type'] ?? null;
      const textual = contentType === null || TEXTUAL.test(contentType);
      return {
        url: res.url,
        status: res.status,
        content_type: contentType,
        body: textual ? res.body.slice(0, FETCH_MAX_CHARS) : null,
        truncated: textual && res.body.length > FETCH_MAX_CHARS,
      };
    },
    async calculator(raw) {
      const input = object(raw);
      onlyFields(input, ['expression']);
      const expression = stringField(input, 'expression', MAX_EXPRESSION_CHARS, true)!;
      calculate ??= restrictedMath();
      let result: string;
      try {
        result = String(calculate(expression));
      } catch (err) {
        throw new ToolError(
          'invalid_expression',
          err instanceof Error ? err.message.slice(0, 500) : 'Invalid expression',
        );
      }
      if (result.length > MAX_RESULT_CHARS) {
        throw new ToolError('result_too_large', `The result is longer than ${MAX_RESULT_CHARS} characters`);
      }
      return { expression, result };
    },
    async current_time(raw) {
      const input = object(raw ?? {});
      onlyFields(input, ['timezone']);
      const timezone = stringField(input, 'timezone', 64, false) ?? 'UTC';
      const now = deps.clock.now();
      try {
        return { utc: new Date(now).toISOString(), timezone, ...zonedIso(now, timezone) };
      } catch {
        throw new ToolError(
          'invalid_timezone',
          `Unknown time zone "${timezone}" (use an IANA name like Europe/Paris)`,
        );
      }
    },
  };

  return (name) => ({ ...info(name), execute: executors[name] });
}
