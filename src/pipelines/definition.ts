/**
 * A pipeline definition: the shape a client sends, its validation, and the compiled plan the
 * scheduler runs. Pure: no HTTP, no database; agent existence is the caller's check (`agents`).
 *
 * Validation reports the first problem as `{param, code, message}` where `param` is the JSON path
 * in the request body (`steps[2].input.query`). Checks run in this order: shape of every field,
 * then every template and `when` parses (each expression is compiled here, once), then
 * `depends_on` targets exist, then cycles, then each expression reads only its step's ancestors.
 */
import {
  DefinitionError,
  type DefinitionIssue,
  fail,
  MAX_EXPRESSIONS,
  type PipelineDefinition,
  parseDefinition,
  type StepDefinition,
} from './definition-fields.ts';
import { ancestors, findCycle, sinks, topologicalOrder } from './graph.ts';
import type { InputValidator } from './input-schema.ts';
import { createInputValidator } from './input-schema.ts';
import {
  type CompiledExpression,
  type CompiledTemplate,
  compileCondition,
  compileTemplate,
  TemplateError,
  templateExpressions,
} from './template.ts';

export {
  DefinitionError,
  type DefinitionIssue,
  LIMITS,
  MAX_EXPRESSIONS,
  MAX_STEPS,
  OnFailure,
  type OnFailurePolicy,
  type PipelineDefinition,
  RETRY_DEFAULTS,
  type RetryPolicy,
  STEP_ID_PATTERN,
  type StepDefinition,
} from './definition-fields.ts';

export interface CompiledStep {
  readonly def: StepDefinition;
  readonly index: number;
  readonly input: CompiledTemplate;
  readonly when: CompiledExpression | null;
  /** Transitive depends_on: the only steps this step's expressions can see. */
  readonly ancestors: ReadonlySet<string>;
}

/** What the scheduler runs. Build it with validateDefinition or compilePipeline. */
export interface CompiledPipeline {
  readonly def: PipelineDefinition;
  /** Topological; ties in definition order. */
  readonly order: readonly string[];
  readonly steps: ReadonlyMap<string, CompiledStep>;
  /** null: the default output, the sink steps' outputs keyed by id. */
  readonly output: CompiledTemplate | null;
  readonly sinks: readonly string[];
}

export interface AgentReference {
  agent_id: string;
  param: string;
}

export type DefinitionResult =
  | { ok: true; def: PipelineDefinition; order: string[]; agents: AgentReference[]; plan: CompiledPipeline }
  | ({ ok: false } & DefinitionIssue);

export interface ValidateOptions {
  /** The app's validator (shares its Ajv); default a fresh one. */
  inputValidator?: InputValidator;
  /** Per-expression evaluation bound baked into compiled expressions. */
  expressionTimeoutMs?: number;
}

/** Compiles templates, turning TemplateErrors into definition issues and counting expressions. */
function compiler(timeoutMs: number | undefined) {
  let count = 0;
  const counted = (param: string, expressions: CompiledExpression[]) => {
    count += expressions.length;
    if (count > MAX_EXPRESSIONS)
      fail(param, 'too_many_expressions', `A pipeline has at most ${MAX_EXPRESSIONS} expressions`);
  };
  const guard = <T>(build: () => T): T => {
    try {
      return build();
    } catch (error) {
      if (error instanceof TemplateError) fail(error.param, error.code, error.message);
      throw error;
    }
  };
  return {
    template(value: unknown, param: string): CompiledTemplate {
      const compiled = guard(() => compileTemplate(value, { param, timeoutMs }));
      counted(param, templateExpressions(compiled));
      return compiled;
    },
    condition(source: string, param: string): CompiledExpression {
      const compiled = guard(() => compileCondition(source, { param, timeoutMs }));
      counted(param, [compiled]);
      return compiled;
    },
  };
}

function checkReferences(
  expressions: CompiledExpression[],
  visible: ReadonlySet<string>,
  all: ReadonlySet<string>,
  owner: string | null,
): void {
  for (const expression of expressions) {
    for (const ref of expression.steps) {
      if (!all.has(ref))
        fail(
          expression.param,
          'invalid_step_reference',
          `${expression.param} references steps.${ref}, which is not a step of this pipeline`,
        );
      if (!visible.has(ref)) {
        fail(
          expression.param,
          'invalid_step_reference',
          `${expression.param} references steps.${ref}, which is not an ancestor of step "${owner}": add it to depends_on (directly or through another step)`,
        );
      }
    }
  }
}

function build(body: unknown, options: ValidateOptions, checkSchema: boolean): CompiledPipeline {
  const def = parseDefinition(body, checkSchema ? (options.inputValidator ?? createInputValidator()) : null);
  const compile = compiler(options.expressionTimeoutMs);
  const templates = def.steps.map((s, i) => ({
    input: compile.template(s.input, `steps[${i}].input`),
    when: s.when === undefined ? null : compile.condition(s.when, `steps[${i}].when`),
  }));
  const output = def.output === undefined ? null : compile.template(def.output, 'output');

  const ids = new Set(def.steps.map((s) => s.id));
  def.steps.forEach((s, i) => {
    s.depends_on.forEach((dep, j) => {
      if (!ids.has(dep))
        fail(
          `steps[${i}].depends_on[${j}]`,
          'unknown_dependency',
          `steps[${i}].depends_on[${j}]: no step has id "${dep}"`,
        );
    });
  });
  const order = topologicalOrder(def.steps);
  if (!order) {
    const cycle = findCycle(def.steps) as string[];
    const at = def.steps.findIndex((s) => s.id === cycle[0]);
    const param = `steps[${at}].depends_on[${def.steps[at].depends_on.indexOf(cycle[1])}]`;
    return fail(param, 'dependency_cycle', `Steps depend on each other in a cycle: ${cycle.join(' → ')}`);
  }
  const ancestry = ancestors(def.steps, order);
  const steps = new Map<string, CompiledStep>();
  def.steps.forEach((s, i) => {
    const { input, when } = templates[i];
    const visible = ancestry.get(s.id) as Set<string>;
    checkReferences([...(when ? [when] : []), ...templateExpressions(input)], visible, ids, s.id);
    steps.set(s.id, { def: s, index: i, input, when, ancestors: visible });
  });
  if (output) checkReferences(templateExpressions(output), ids, ids, null);
  return { def, order, steps, output, sinks: sinks(def.steps, order) };
}

/** Validates a create body. On success: the definition with defaults, its order, agents to check. */
export function validateDefinition(body: unknown, options: ValidateOptions = {}): DefinitionResult {
  try {
    const plan = build(body, options, true);
    const agents = plan.def.steps.map((s, i) => ({ agent_id: s.agent_id, param: `steps[${i}].agent_id` }));
    return { ok: true, def: plan.def, order: [...plan.order], agents, plan };
  } catch (error) {
    if (!(error instanceof DefinitionError)) throw error;
    return { ok: false, param: error.param, code: error.code, message: error.message };
  }
}

/**
 * Rebuilds the plan of a stored definition (validated at create; its input_schema is not
 * re-checked, which would cost an Ajv compile). Throws DefinitionError.
 */
export function compilePipeline(def: PipelineDefinition, options: ValidateOptions = {}): CompiledPipeline {
  return build(def, options, false);
}
