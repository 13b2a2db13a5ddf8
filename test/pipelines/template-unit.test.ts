import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  compileCondition,
  compileTemplate,
  evaluateCondition,
  type RenderContext,
  referencedSteps,
  render,
  TemplateError,
  TemplateErrorCodes,
} from '../../src/pipelines/template.ts';

const NOW = Date.UTC(2026, 0, 2, 3, 4, 5);
const context: RenderContext = {
  input: { n: 42, s: 'hi', flag: false, obj: { a: [1, 2] }, list: ['x', 'y'], nothing: null },
  steps: {
    search: { status: 'completed', output: { text: 'found', hits: 3 }, error: null },
    broken: { status: 'failed', output: null, error: { code: 'agent_error', message: 'boom' } },
  },
};
const renderValue = (value: unknown, options = {}) =>
  render(compileTemplate(value), context, { now: NOW, ...options });

const rejectsWith = async (promise: Promise<unknown>, code: string, param?: string) =>
  assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof TemplateError, String(error));
    assert.equal(error.code, code, error.message);
    if (param !== undefined) assert.equal(error.param, param);
    return true;
  });

const throwsWith = (fn: () => unknown, code: string, param: string) =>
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof TemplateError, String(error));
    assert.equal(error.code, code, error.message);
    assert.equal(error.param, param);
    return true;
  });

test('a value that is exactly one placeholder keeps its JSON type', async () => {
  assert.equal(await renderValue('{{ input.n }}'), 42);
  assert.equal(await renderValue('{{input.flag}}'), false);
  assert.deepEqual(await renderValue('{{ input.obj }}'), { a: [1, 2] });
  assert.deepEqual(await renderValue('{{ input.list }}'), ['x', 'y']);
  assert.equal(await renderValue('{{ input.nothing }}'), null);
  assert.equal(await renderValue('{{ steps.search.output.hits * 2 }}'), 6);
  // an object constructor: the placeholder ends at the first `}}` where the expression parses
  assert.deepEqual(await renderValue('{{ {"a": {"b": input.n}} }}'), { a: { b: 42 } });
});

test('a missing path is null as a whole value and the empty string inside text', async () => {
  assert.equal(await renderValue('{{ input.nope.deeper }}'), null);
  assert.deepEqual(await renderValue({ k: '{{ input.nope }}', list: ['{{ input.nope }}'] }), {
    k: null,
    list: [null],
  });
  assert.equal(await renderValue('[{{ input.nope }}][{{ input.nothing }}]'), '[][]');
});

test('mixed strings interpolate: text as is, numbers and booleans as text, objects as JSON', async () => {
  assert.equal(
    await renderValue(
      'n={{ input.n }} s={{ input.s }} f={{ input.flag }} o={{ input.obj }} l={{ input.list }}',
    ),
    'n=42 s=hi f=false o={"a":[1,2]} l=["x","y"]',
  );
  assert.equal(await renderValue('{{ "{{" }} literal braces }}'), '{{ literal braces }}');
});

test('nested objects and arrays render every level; literals pass through', async () => {
  const out = await renderValue({
    query: 'Summarise: {{ steps.search.output.text }}',
    options: { limit: '{{ input.n }}', tags: ['fixed', '{{ input.s }}', { deep: '{{ input.obj.a }}' }] },
    constant: 7,
    off: null,
  });
  assert.deepEqual(out, {
    query: 'Summarise: found',
    options: { limit: 42, tags: ['fixed', 'hi', { deep: [1, 2] }] },
    constant: 7,
    off: null,
  });
});

test('a rendered literal is a copy: mutating it does not change the template', async () => {
  const compiled = compileTemplate({ fixed: { a: 1 } });
  const first = (await render(compiled, context)) as { fixed: { a: number } };
  first.fixed.a = 99;
  assert.deepEqual(await render(compiled, context), { fixed: { a: 1 } });
});

test('compile errors point at the field that holds the expression', () => {
  throwsWith(
    () => compileTemplate({ query: 'x {{ input. }}' }, { param: 'steps[2].input' }),
    TemplateErrorCodes.syntax,
    'steps[2].input.query',
  );
  throwsWith(
    () => compileTemplate(['ok', '{{ input.n'], { param: 'output' }),
    TemplateErrorCodes.syntax,
    'output[1]',
  );
  throwsWith(
    () => compileTemplate({ 'a b': '{{ }}' }, { param: 'output' }),
    TemplateErrorCodes.syntax,
    'output["a b"]',
  );
  throwsWith(
    () => compileTemplate('{{ steps.search.outptu }}', { param: 'p' }),
    TemplateErrorCodes.syntax,
    'p',
  );
});

test('no JavaScript is reachable: prototypes, globals and $eval', async () => {
  assert.equal(await renderValue('{{ input.constructor }}'), null);
  assert.equal(await renderValue('{{ input.__proto__ }}'), null);
  assert.equal(await renderValue('{{ $type(input.constructor.constructor) }}'), null);
  assert.equal(await renderValue('{{ $process }}'), null);
  assert.equal(await renderValue('{{ globalThis }}'), null);
  for (const source of ['{{ $eval("1 + 1") }}', '{{ $random() }}', '{{ ($f := $eval; $f("1")) }}']) {
    throwsWith(() => compileTemplate(source, { param: 'x' }), TemplateErrorCodes.forbidden, 'x');
  }
  await rejectsWith(renderValue('{{ function($x) { $x } }}'), TemplateErrorCodes.result, '');
});

test('regular expressions with nested quantifiers are refused at compile time', async () => {
  throwsWith(
    () => compileTemplate('{{ $match(input.s, /(a+)+$/) }}', { param: 'q' }),
    TemplateErrorCodes.forbidden,
    'q',
  );
  assert.deepEqual(await renderValue('{{ $match("aab", /a+/).match }}'), 'aa');
});

test('evaluation time is bounded: a pathological expression aborts with a clear error', async () => {
  const started = performance.now();
  await rejectsWith(
    renderValue({ slow: '{{ $count([1..99999].($ * 2)) }}' }),
    TemplateErrorCodes.timeout,
    'slow',
  );
  assert.ok(performance.now() - started < 1_000, 'aborted near the 50 ms bound, not run to the end');
  await assert.rejects(renderValue('{{ $count([1..99999].($ * 2)) }}'), /timeout after 50 milliseconds/i);
});

test('evaluation depth and sequence length are bounded', async () => {
  await rejectsWith(
    renderValue('{{ ($f := function($n) { $n > 0 ? 1 + $f($n - 1) : 0 }; $f(100000)) }}'),
    TemplateErrorCodes.depth,
  );
  await rejectsWith(renderValue('{{ [1..200000] }}'), TemplateErrorCodes.evaluation);
});

test('the rendered size is bounded', async () => {
  await rejectsWith(
    renderValue({ big: '{{ $pad("", 2000) }}' }, { maxChars: 1000 }),
    TemplateErrorCodes.tooLarge,
    'big',
  );
  assert.equal(((await renderValue('{{ $pad("", 900) }}', { maxChars: 1000 })) as string).length, 900);
});

test('$now() and $millis() return the caller clock, so renders repeat exactly', async () => {
  assert.deepEqual(
    await renderValue(['{{ $now() }}', '{{ $millis() }}', '{{ $now("[Y0001]-[M01]-[D01]") }}']),
    ['2026-01-02T03:04:05.000Z', NOW, '2026-01-02'],
  );
});

test('conditions: bare or wrapped, cast like JSONata $boolean', async () => {
  const cases: [string, boolean][] = [
    ['input.n > 40', true],
    ['{{ input.n > 50 }}', false],
    ['input.s', true],
    ['input.nope', false],
    ['""', false],
    ['0', false],
    ['[]', false],
    ['{}', false],
    ['{"a": 1}', true],
    ['steps.broken.status = "failed"', true],
  ];
  for (const [source, expected] of cases) {
    assert.equal(await evaluateCondition(compileCondition(source), context, { now: NOW }), expected, source);
  }
  throwsWith(
    () => compileCondition('x {{ input.n }}', { param: 'steps[0].when' }),
    TemplateErrorCodes.syntax,
    'steps[0].when',
  );
});

test('referencedSteps walks the AST: root paths only, not strings or nested fields', () => {
  assert.deepEqual(
    referencedSteps('steps.a.output.x & $$.steps.b.status & $string(steps.`c`) & input.steps.z & "steps.y"'),
    ['a', 'b', 'c'],
  );
  assert.deepEqual(referencedSteps('$map(input.items, function($v) { $v & steps.d.output })'), ['d']);
  assert.deepEqual(referencedSteps('($x := steps.e; $x.output) ? steps.f.output : $lookup(steps, "g")'), [
    'e',
    'f',
  ]);
  assert.deepEqual(referencedSteps('input.n + 1'), []);
  assert.throws(() => referencedSteps('steps.('), TemplateError);
});
