import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compilePipeline, validateDefinition } from '../../src/pipelines/definition.ts';
import { createInputValidator, validateTriggerInput } from '../../src/pipelines/input-schema.ts';

type Body = Record<string, unknown> & { steps: Record<string, unknown>[] };
const step = (id: string, extra: Record<string, unknown> = {}) => ({
  id,
  agent_id: 'ag_1',
  input: {},
  ...extra,
});
const body = (steps: Record<string, unknown>[], extra: Record<string, unknown> = {}): Body => ({
  name: 'research',
  steps,
  ...extra,
});

function rejects(input: unknown, param: string, code: string, message?: RegExp) {
  const result = validateDefinition(input);
  assert.equal(result.ok, false, `expected ${param} to be rejected`);
  if (result.ok) return;
  assert.deepEqual({ param: result.param, code: result.code }, { param, code }, result.message);
  if (message) assert.match(result.message, message);
}

test('a valid definition: defaults applied, topological order, agents to check', () => {
  const result = validateDefinition(
    body([
      step('summarise', {
        agent_id: 'ag_sum',
        depends_on: ['search', 'fetch'],
        input: '{{ steps.search.output }}',
      }),
      step('search', { agent_id: 'ag_search', input: { q: '{{ input.topic }}' } }),
      step('fetch', {
        agent_id: 'ag_fetch',
        depends_on: ['search'],
        retry: { max_attempts: 3 },
        on_failure: 'continue',
      }),
    ]),
  );
  assert.ok(result.ok, !result.ok ? result.message : '');
  assert.deepEqual(result.order, ['search', 'fetch', 'summarise']);
  assert.deepEqual(result.agents, [
    { agent_id: 'ag_sum', param: 'steps[0].agent_id' },
    { agent_id: 'ag_search', param: 'steps[1].agent_id' },
    { agent_id: 'ag_fetch', param: 'steps[2].agent_id' },
  ]);
  assert.deepEqual(result.def.steps[2].retry, {
    max_attempts: 3,
    backoff_ms: 1000,
    backoff_multiplier: 2,
    max_backoff_ms: 60000,
  });
  assert.equal(result.def.steps[1].on_failure, 'fail');
  assert.deepEqual(result.def.steps[1].depends_on, []);
  assert.deepEqual([...(result.plan.steps.get('summarise')?.ancestors ?? [])], ['search', 'fetch']);
  assert.deepEqual(result.plan.sinks, ['summarise']);
  // a stored (normalised) definition compiles again to the same plan
  assert.deepEqual(compilePipeline(result.def).order, result.order);
});

test('top-level shape: required, unknown and mistyped fields', () => {
  rejects({ steps: [step('a')] }, 'name', 'parameter_missing');
  rejects(body([step('a')], { name: '' }), 'name', 'parameter_invalid');
  rejects(body([step('a')], { colour: 'red' }), 'colour', 'parameter_unknown');
  rejects({ name: 'x' }, 'steps', 'parameter_missing');
  rejects(body([]), 'steps', 'parameter_invalid');
  rejects(body([step('a')], { metadata: [1] }), 'metadata', 'parameter_invalid');
  rejects([], 'body', 'parameter_invalid');
});

test('more than 100 steps', () => {
  const steps = Array.from({ length: 101 }, (_, i) => step(`s${i}`));
  rejects(body(steps), 'steps', 'too_many_steps', /at most 100/);
  assert.ok(validateDefinition(body(steps.slice(0, 100))).ok);
});

test('step ids: empty, malformed, too long, duplicate', () => {
  rejects(body([step('a'), step('')]), 'steps[1].id', 'invalid_step_id');
  rejects(body([step('a'), { agent_id: 'ag', input: {} }]), 'steps[1].id', 'parameter_missing');
  for (const bad of ['1st', 'a-b', 'a b', '_a', 'é', `a${'b'.repeat(64)}`, 7]) {
    rejects(body([step('ok'), step('x'), step(bad as string)]), 'steps[2].id', 'invalid_step_id', undefined);
  }
  assert.ok(validateDefinition(body([step(`a${'b'.repeat(63)}`), step('Search_2')])).ok);
  rejects(
    body([step('a'), step('b'), step('c'), step('b')]),
    'steps[3].id',
    'duplicate_step_id',
    /steps\[1\]/,
  );
  rejects(body([step('a'), step('A')]), 'steps[1].id', 'duplicate_step_id');
});

test('step fields: unknown, agent_id, input, on_failure, when', () => {
  rejects(body([step('a', { agent: 'x' })]), 'steps[0].agent', 'parameter_unknown');
  rejects(body([{ id: 'a', input: {} }]), 'steps[0].agent_id', 'parameter_missing');
  rejects(body([{ id: 'a', agent_id: 'ag' }]), 'steps[0].input', 'parameter_missing');
  rejects(body([step('a', { on_failure: 'ignore' })]), 'steps[0].on_failure', 'parameter_invalid');
  rejects(body([step('a', { when: 5 })]), 'steps[0].when', 'parameter_invalid');
  rejects(body([step('a', { depends_on: 'b' })]), 'steps[0].depends_on', 'parameter_invalid');
  rejects(
    body([step('b'), step('a', { depends_on: ['b', 'b'] })]),
    'steps[1].depends_on[1]',
    'parameter_invalid',
  );
});

test('unknown depends_on', () => {
  rejects(
    body([step('a'), step('b', { depends_on: ['a', 'nope'] })]),
    'steps[1].depends_on[1]',
    'unknown_dependency',
    /"nope"/,
  );
});

test('cycles are named, starting from the first listed step', () => {
  rejects(
    body([
      step('root'),
      step('a', { depends_on: ['root', 'c'] }),
      step('b', { depends_on: ['a'] }),
      step('c', { depends_on: ['b'] }),
    ]),
    'steps[1].depends_on[1]',
    'dependency_cycle',
    /a → c → b → a/,
  );
  rejects(body([step('a', { depends_on: ['a'] })]), 'steps[0].depends_on[0]', 'dependency_cycle', /a → a/);
});

test('expressions that do not parse, at their exact path', () => {
  rejects(
    body([step('a'), step('b'), step('c', { input: { query: '{{ input.( }}' } })]),
    'steps[2].input.query',
    'invalid_expression',
  );
  rejects(
    body([step('a', { input: { list: ['ok', 'x {{ }}'] } })]),
    'steps[0].input.list[1]',
    'invalid_expression',
  );
  rejects(body([step('a', { when: 'input.n >' })]), 'steps[0].when', 'invalid_expression');
  rejects(body([step('a')], { output: { x: '{{ $eval("1") }}' } }), 'output.x', 'forbidden_expression');
});

test('expressions may read only ancestors', () => {
  const steps = [
    step('a'),
    step('b', { depends_on: ['a'] }),
    step('c', { depends_on: ['a'], when: 'steps.b.status = "completed"' }),
  ];
  rejects(body(steps), 'steps[2].when', 'invalid_step_reference', /steps\.b.*not an ancestor of step "c"/);
  // transitive ancestors are fine
  assert.ok(
    validateDefinition(
      body([
        step('a'),
        step('b', { depends_on: ['a'] }),
        step('c', { depends_on: ['b'], input: '{{ steps.a.output }}' }),
      ]),
    ).ok,
  );
  rejects(
    body([step('a', { input: { self: '{{ steps.a.output }}' } })]),
    'steps[0].input.self',
    'invalid_step_reference',
  );
  rejects(
    body([step('a', { input: '{{ steps.ghost.output }}' })]),
    'steps[0].input',
    'invalid_step_reference',
    /not a step/,
  );
  rejects(body([step('a')], { output: { r: '{{ steps.b.output }}' } }), 'output.r', 'invalid_step_reference');
  assert.ok(
    validateDefinition(body([step('a'), step('b')], { output: '{{ [steps.a.output, steps.b.output] }}' })).ok,
  );
});

test('retry and timeout numbers', () => {
  const cases: [Record<string, unknown>, string][] = [
    [{ retry: { max_attempts: 0 } }, 'steps[0].retry.max_attempts'],
    [{ retry: { max_attempts: 1.5 } }, 'steps[0].retry.max_attempts'],
    [{ retry: { max_attempts: 11 } }, 'steps[0].retry.max_attempts'],
    [{ retry: { backoff_ms: -1 } }, 'steps[0].retry.backoff_ms'],
    [{ retry: { backoff_multiplier: 0.5 } }, 'steps[0].retry.backoff_multiplier'],
    [{ retry: { backoff_ms: 5000, max_backoff_ms: 1000 } }, 'steps[0].retry.max_backoff_ms'],
    [{ retry: { max_attempts: '3' } }, 'steps[0].retry.max_attempts'],
    [{ timeout_ms: 0 }, 'steps[0].timeout_ms'],
    [{ timeout_ms: '1000' }, 'steps[0].timeout_ms'],
    [{ timeout_ms: 86_400_001 }, 'steps[0].timeout_ms'],
  ];
  for (const [extra, param] of cases) rejects(body([step('a', extra)]), param, 'parameter_invalid');
  rejects(body([step('a', { retry: { attempts: 2 } })]), 'steps[0].retry.attempts', 'parameter_unknown');
  const ok = validateDefinition(
    body([step('a', { retry: { backoff_multiplier: 1.5 }, timeout_ms: 30_000 })]),
  );
  assert.ok(ok.ok);
  assert.equal(ok.def.steps[0].timeout_ms, 30_000);
});

test('input_schema must itself be a valid, safe JSON Schema', () => {
  rejects(
    body([step('a')], { input_schema: { type: 'strin' } }),
    'input_schema.type',
    'invalid_input_schema',
  );
  rejects(
    body([step('a')], { input_schema: { properties: { q: { type: 'string', minLength: -1 } } } }),
    'input_schema.properties.q.minLength',
    'invalid_input_schema',
  );
  rejects(
    body([step('a')], { input_schema: { $ref: 'https://example.com/s.json' } }),
    'input_schema',
    'invalid_input_schema',
  );
  rejects(
    body([step('a')], { input_schema: { properties: { q: { pattern: '^(a+)+$' } } } }),
    'input_schema.properties.q.pattern',
    'invalid_input_schema',
  );
  rejects(body([step('a')], { input_schema: 'object' }), 'input_schema', 'invalid_input_schema');
});

test('validateTriggerInput reports the first error as a param under input', () => {
  const schema = {
    type: 'object',
    required: ['q'],
    additionalProperties: false,
    properties: {
      q: { type: 'string', minLength: 1 },
      n: { type: 'integer' },
      items: { type: 'array', items: { type: 'object', required: ['name'] } },
    },
  };
  const validator = createInputValidator();
  assert.deepEqual(validateTriggerInput(schema, { q: 'x', n: 2 }, validator), { ok: true });
  const check = (input: unknown) => {
    const r = validateTriggerInput(schema, input, validator);
    return r.ok ? 'ok' : `${r.code} ${r.param}`;
  };
  assert.equal(check({}), 'parameter_missing input.q');
  assert.equal(check({ q: 'x', n: 'two' }), 'parameter_invalid input.n');
  assert.equal(check({ q: 'x', extra: 1 }), 'parameter_unknown input.extra');
  assert.equal(check({ q: 'x', items: [{ name: 'a' }, {}] }), 'parameter_missing input.items[1].name');
  assert.equal(check('text'), 'parameter_invalid input');
  assert.deepEqual(validateTriggerInput(undefined, 'anything'), { ok: true });
  // the same schema text twice, or a schema with an $id, is fine (cache by text, nothing registered)
  const withId = { $id: 'https://airmy.dev/in.json', type: 'string' };
  assert.equal(validateTriggerInput(withId, 1, validator).ok, false);
  assert.equal(validateTriggerInput({ ...withId }, 's', validator).ok, true);
});
