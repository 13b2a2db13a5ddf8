/**
 * The fields of a pipeline definition: types, defaults, limits, and the shape check that turns a
 * request body into a PipelineDefinition with defaults applied (definition.ts then compiles it).
 * Every problem is thrown as a DefinitionError naming the body path (`steps[0].retry.backoff_ms`).
 * Step ids are unique regardless of case, so `Search` and `search` cannot both exist.
 */
import type { InputValidator } from './input-schema.ts';
import { childParam } from './template.ts';

export const OnFailure = { fail: 'fail', continue: 'continue' } as const;
export type OnFailurePolicy = (typeof OnFailure)[keyof typeof OnFailure];

export const MAX_STEPS = 100;
export const MAX_EXPRESSIONS = 1_000;
export const STEP_ID_PATTERN = /^[a-z][a-z0-9_]{0,63}$/i;
export const RETRY_DEFAULTS = {
  max_attempts: 1,
  backoff_ms: 1_000,
  backoff_multiplier: 2,
  max_backoff_ms: 60_000,
} as const;
/** Inclusive bounds of the numeric fields; integers except the multiplier. */
export const LIMITS = {
  max_attempts: [1, 10],
  backoff_ms: [0, 3_600_000],
  backoff_multiplier: [1, 10],
  max_backoff_ms: [0, 86_400_000],
  timeout_ms: [1, 86_400_000],
  pipeline_timeout_ms: [1, 7 * 86_400_000],
} as const;

export interface RetryPolicy {
  max_attempts: number;
  backoff_ms: number;
  backoff_multiplier: number;
  max_backoff_ms: number;
}

/** A step with defaults applied. */
export interface StepDefinition {
  id: string;
  agent_id: string;
  input: unknown;
  depends_on: string[];
  when?: string;
  retry: RetryPolicy;
  timeout_ms?: number;
  on_failure: OnFailurePolicy;
}

export interface PipelineDefinition {
  name: string;
  description?: string;
  input_schema?: Record<string, unknown> | boolean;
  steps: StepDefinition[];
  output?: unknown;
  /** Bound on the whole pipeline run, from trigger to terminal state: past it the run is `timed_out`. */
  timeout_ms?: number;
  metadata?: Record<string, unknown>;
}

export interface DefinitionIssue {
  param: string;
  code: string;
  message: string;
}

/** Thrown by compilePipeline; validateDefinition returns the same data instead. */
export class DefinitionError extends Error {
  readonly param: string;
  readonly code: string;
  constructor(issue: DefinitionIssue) {
    super(issue.message);
    this.name = 'DefinitionError';
    this.param = issue.param;
    this.code = issue.code;
  }
}

export const fail = (param: string, code: string, message: string): never => {
  throw new DefinitionError({ param, code, message });
};

const TOP_FIELDS = ['name', 'description', 'input_schema', 'steps', 'output', 'timeout_ms', 'metadata'];
const STEP_FIELDS = ['id', 'agent_id', 'input', 'depends_on', 'when', 'retry', 'timeout_ms', 'on_failure'];
const RETRY_FIELDS = Object.keys(RETRY_DEFAULTS);

type Json = Record<string, unknown>;
const isObject = (value: unknown): value is Json =>
  value !== null && typeof value === 'object' && !Array.isArray(value);

function object(value: unknown, param: string, allowed: readonly string[]): Json {
  if (!isObject(value))
    return fail(param || 'body', 'parameter_invalid', `${param || 'body'} must be an object`);
  const unknown = Object.keys(value).find((key) => !allowed.includes(key));
  if (unknown !== undefined) {
    const at = childParam(param, unknown);
    fail(at, 'parameter_unknown', `Unknown field: ${at}`);
  }
  return value;
}

function text(value: unknown, param: string, max: number, required: boolean): string | undefined {
  if (value === undefined || value === null) {
    return required ? fail(param, 'parameter_missing', `Missing required field: ${param}`) : undefined;
  }
  if (typeof value !== 'string') return fail(param, 'parameter_invalid', `${param} must be a string`);
  if (required && value.trim() === '') fail(param, 'parameter_invalid', `${param} must not be empty`);
  if (value.length > max) fail(param, 'parameter_invalid', `${param} must be at most ${max} characters`);
  return value;
}

function bounded(value: unknown, param: string, key: keyof typeof LIMITS): number {
  const [min, max] = LIMITS[key];
  const integer = key !== 'backoff_multiplier';
  if (typeof value !== 'number' || !Number.isFinite(value) || (integer && !Number.isInteger(value))) {
    fail(param, 'parameter_invalid', `${param} must be ${integer ? 'an integer' : 'a number'}`);
  }
  if ((value as number) < min || (value as number) > max) {
    fail(param, 'parameter_invalid', `${param} must be between ${min} and ${max}`);
  }
  return value as number;
}

function retryPolicy(value: unknown, param: string): RetryPolicy {
  if (value === undefined || value === null) return { ...RETRY_DEFAULTS };
  const raw = object(value, param, RETRY_FIELDS);
  const retry = { ...RETRY_DEFAULTS } as RetryPolicy;
  for (const key of RETRY_FIELDS as (keyof RetryPolicy)[]) {
    if (raw[key] !== undefined) retry[key] = bounded(raw[key], childParam(param, key), key);
  }
  if (retry.max_backoff_ms < retry.backoff_ms) {
    fail(
      childParam(param, 'max_backoff_ms'),
      'parameter_invalid',
      `${param}.max_backoff_ms must be ≥ backoff_ms`,
    );
  }
  return retry;
}

function step(value: unknown, param: string, seen: Map<string, number>): StepDefinition {
  const raw = object(value, param, STEP_FIELDS);
  const idParam = childParam(param, 'id');
  if (raw.id === undefined || raw.id === null)
    fail(idParam, 'parameter_missing', `Missing required field: ${idParam}`);
  const id = raw.id as string;
  if (typeof id !== 'string' || !STEP_ID_PATTERN.test(id)) {
    fail(
      idParam,
      'invalid_step_id',
      `${idParam} must start with a letter and contain only letters, digits and _ (at most 64)`,
    );
  }
  const first = seen.get(id.toLowerCase());
  if (first !== undefined)
    fail(idParam, 'duplicate_step_id', `${idParam}: step id "${id}" is already used by steps[${first}]`);
  seen.set(id.toLowerCase(), seen.size);
  const agent_id = text(raw.agent_id, childParam(param, 'agent_id'), 255, true) as string;
  if (raw.input === undefined)
    fail(childParam(param, 'input'), 'parameter_missing', `Missing required field: ${param}.input`);

  const depsParam = childParam(param, 'depends_on');
  const deps = raw.depends_on ?? [];
  if (!Array.isArray(deps))
    return fail(depsParam, 'parameter_invalid', `${depsParam} must be an array of step ids`);
  deps.forEach((dep, i) => {
    if (typeof dep !== 'string')
      fail(childParam(depsParam, i), 'parameter_invalid', `${depsParam}[${i}] must be a string`);
    if (deps.indexOf(dep) !== i)
      fail(childParam(depsParam, i), 'parameter_invalid', `${depsParam}[${i}]: "${dep}" is listed twice`);
  });

  const on_failure = raw.on_failure ?? OnFailure.fail;
  if (on_failure !== OnFailure.fail && on_failure !== OnFailure.continue) {
    fail(
      childParam(param, 'on_failure'),
      'parameter_invalid',
      `${param}.on_failure must be "fail" or "continue"`,
    );
  }
  const when = text(raw.when, childParam(param, 'when'), 10_000, false);
  if (when !== undefined && when.trim() === '')
    fail(childParam(param, 'when'), 'parameter_invalid', `${param}.when must not be empty`);
  const timeoutMs = raw.timeout_ms ?? undefined;
  return {
    id,
    agent_id,
    input: raw.input,
    depends_on: deps as string[],
    ...(when === undefined ? {} : { when }),
    retry: retryPolicy(raw.retry, childParam(param, 'retry')),
    ...(timeoutMs === undefined
      ? {}
      : { timeout_ms: bounded(timeoutMs, childParam(param, 'timeout_ms'), 'timeout_ms') }),
    on_failure: on_failure as OnFailurePolicy,
  };
}

/** The body as a PipelineDefinition with defaults applied; `inputValidator` null skips the schema check. */
export function parseDefinition(body: unknown, inputValidator: InputValidator | null): PipelineDefinition {
  const raw = object(body, '', TOP_FIELDS);
  const name = text(raw.name, 'name', 200, true) as string;
  const description = text(raw.description, 'description', 2_000, false);
  if (raw.metadata != null && !isObject(raw.metadata))
    fail('metadata', 'parameter_invalid', 'metadata must be an object');
  if (raw.input_schema != null && inputValidator) {
    const issue = inputValidator.checkSchema(raw.input_schema);
    if (issue) fail(issue.param, issue.code, issue.message);
  }
  if (raw.steps === undefined) fail('steps', 'parameter_missing', 'Missing required field: steps');
  if (!Array.isArray(raw.steps)) return fail('steps', 'parameter_invalid', 'steps must be an array');
  if (raw.steps.length === 0) fail('steps', 'parameter_invalid', 'steps must contain at least one step');
  if (raw.steps.length > MAX_STEPS)
    fail('steps', 'too_many_steps', `A pipeline has at most ${MAX_STEPS} steps (got ${raw.steps.length})`);
  const seen = new Map<string, number>();
  return {
    name,
    ...(description === undefined ? {} : { description }),
    ...(raw.input_schema == null
      ? {}
      : { input_schema: raw.input_schema as PipelineDefinition['input_schema'] }),
    steps: raw.steps.map((item, i) => step(item, `steps[${i}]`, seen)),
    ...(raw.output == null ? {} : { output: raw.output }),
    ...(raw.timeout_ms == null
      ? {}
      : { timeout_ms: bounded(raw.timeout_ms, 'timeout_ms', 'pipeline_timeout_ms') }),
    ...(raw.metadata == null ? {} : { metadata: raw.metadata as Json }),
  };
}
