import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type CompiledPipeline, validateDefinition } from '../../src/pipelines/definition.ts';
import {
  type Decision,
  type PipelineRunStatus,
  retryDelay,
  type StepState,
  schedule,
} from '../../src/pipelines/scheduler.ts';

const T0 = Date.UTC(2026, 4, 1, 12, 0, 0);

function compile(steps: Record<string, unknown>[], extra: Record<string, unknown> = {}): CompiledPipeline {
  const result = validateDefinition({
    name: 'p',
    steps: steps.map((s) => ({ agent_id: `ag_${s.id}`, input: {}, ...s })),
    ...extra,
  });
  assert.ok(result.ok, result.ok ? '' : `${result.param}: ${result.message}`);
  return result.plan;
}

/**
 * A stand-in for the durable engine: holds step states, applies decisions the way the engine
 * will, and lets the test play the agents (complete / fail a running step).
 */
class Run {
  readonly steps: Record<string, StepState> = {};
  readonly inputs: Record<string, unknown> = {};
  status: PipelineRunStatus = 'running';
  now = T0;
  readonly plan: CompiledPipeline;
  readonly input: unknown;
  constructor(plan: CompiledPipeline, input: unknown) {
    this.plan = plan;
    this.input = input;
  }
  async tick(options: { maxStarts?: number } = {}): Promise<Decision> {
    const decision = await schedule(
      this.plan,
      { status: this.status, input: this.input, steps: this.steps },
      { now: this.now, ...options },
    );
    for (const s of decision.start) {
      this.steps[s.step_id] = { status: 'running', attempts: s.attempt };
      this.inputs[s.step_id] = s.input;
    }
    for (const s of decision.skip) this.steps[s.step_id] = { status: 'skipped', attempts: 0 };
    for (const f of decision.fail)
      this.steps[f.step_id] = { ...this.state(f.step_id), status: 'failed', error: f.error };
    for (const r of decision.retry)
      this.steps[r.step_id] = { ...this.state(r.step_id), status: 'pending', next_attempt_at: r.at };
    for (const c of decision.cancel)
      this.steps[c.step_id] = { ...this.state(c.step_id), status: 'cancelled' };
    if (decision.run.status !== 'running') this.status = decision.run.status;
    return decision;
  }
  state(id: string): StepState {
    return this.steps[id] ?? { status: 'pending', attempts: 0 };
  }
  complete(id: string, output: unknown) {
    assert.equal(this.state(id).status, 'running', `${id} should be running`);
    this.steps[id] = { ...this.state(id), status: 'completed', output };
  }
  fail(id: string, message = `${id} broke`) {
    assert.equal(this.state(id).status, 'running', `${id} should be running`);
    this.steps[id] = { ...this.state(id), status: 'failed', error: { code: 'agent_error', message } };
  }
}

const started = (d: Decision) => d.start.map((s) => s.step_id);

test('linear chain: each step starts after the previous with its rendered output', async () => {
  const run = new Run(
    compile([
      { id: 'search', input: { q: '{{ input.topic }}' } },
      { id: 'read', depends_on: ['search'], input: { urls: '{{ steps.search.output.urls }}' } },
      {
        id: 'write',
        depends_on: ['read'],
        input: 'Write about {{ input.topic }} using {{ steps.read.output }}',
      },
    ]),
    { topic: 'otters' },
  );
  let d = await run.tick();
  assert.deepEqual(d.start, [
    { step_id: 'search', agent_id: 'ag_search', attempt: 1, input: { q: 'otters' }, timeout_ms: null },
  ]);
  assert.deepEqual(d.run, { status: 'running', wake_at: null });
  assert.deepEqual(started(await run.tick()), [], 'nothing new while search runs');

  run.complete('search', { urls: ['u1', 'u2'] });
  d = await run.tick();
  assert.deepEqual(started(d), ['read']);
  assert.deepEqual(run.inputs.read, { urls: ['u1', 'u2'] });

  run.complete('read', { facts: 2 });
  d = await run.tick();
  assert.equal(run.inputs.write, 'Write about otters using {"facts":2}');

  run.complete('write', 'An essay');
  d = await run.tick();
  assert.deepEqual(
    d.run,
    { status: 'completed', output: { write: 'An essay' } },
    'default output: sinks by id',
  );
});

test('fan-out of 8 then join: ready steps in topological order, join waits for all', async () => {
  const branches = Array.from({ length: 8 }, (_, i) => ({
    id: `part${i}`,
    depends_on: ['split'],
    input: { chunk: `{{ steps.split.output.chunks[${i}] }}` },
  }));
  const run = new Run(
    compile(
      [
        { id: 'split' },
        ...branches,
        {
          id: 'join',
          depends_on: branches.map((b) => b.id),
          input: { parts: `{{ [${branches.map((b) => `steps.${b.id}.output`).join(', ')}] }}` },
        },
      ],
      { output: { total: '{{ $sum(steps.join.output.sizes) }}', first: '{{ steps.part0.output }}' } },
    ),
    {},
  );
  await run.tick();
  run.complete('split', { chunks: ['c0', 'c1', 'c2', 'c3', 'c4', 'c5', 'c6', 'c7'] });

  const limited = await schedule(
    run.plan,
    { status: 'running', input: {}, steps: run.steps },
    { now: T0, maxStarts: 3 },
  );
  assert.deepEqual(started(limited), ['part0', 'part1', 'part2'], 'the first N ready steps');

  const d = await run.tick();
  assert.deepEqual(
    started(d),
    branches.map((b) => b.id),
  );
  assert.deepEqual(
    d.start.map((s) => s.input),
    ['c0', 'c1', 'c2', 'c3', 'c4', 'c5', 'c6', 'c7'].map((chunk) => ({ chunk })),
  );

  for (let i = 7; i >= 1; i--) run.complete(`part${i}`, `r${i}`);
  assert.deepEqual(started(await run.tick()), [], 'join waits for part0');
  run.complete('part0', 'r0');
  assert.deepEqual(started(await run.tick()), ['join']);
  assert.deepEqual(run.inputs.join, { parts: ['r0', 'r1', 'r2', 'r3', 'r4', 'r5', 'r6', 'r7'] });
  run.complete('join', { sizes: [1, 2, 3] });
  assert.deepEqual((await run.tick()).run, { status: 'completed', output: { total: 6, first: 'r0' } });
});

test('when false skips the branch and its dependents; a join with its own when decides alone', async () => {
  const plan = compile([
    { id: 'classify' },
    { id: 'billing', depends_on: ['classify'], when: 'steps.classify.output.kind = "billing"' },
    { id: 'refund', depends_on: ['billing'] },
    { id: 'tech', depends_on: ['classify'], when: '{{ steps.classify.output.kind = "tech" }}' },
    { id: 'ticket', depends_on: ['tech'] },
    { id: 'notify', depends_on: ['refund', 'ticket'] },
    {
      id: 'reply',
      depends_on: ['refund', 'ticket'],
      when: 'steps.refund.status = "completed" or steps.ticket.status = "completed"',
      input: { via: '{{ steps.refund.status }}/{{ steps.ticket.status }}' },
    },
  ]);
  const run = new Run(plan, {});
  await run.tick();
  run.complete('classify', { kind: 'billing' });
  const d = await run.tick();
  assert.deepEqual(started(d), ['billing']);
  assert.deepEqual(d.skip, [
    { step_id: 'tech', reason: 'condition_false' },
    { step_id: 'ticket', reason: 'upstream_skipped', upstream: 'tech' },
  ]);
  run.complete('billing', 'ok');
  assert.deepEqual(started(await run.tick()), ['refund']);
  run.complete('refund', 'refunded');
  const last = await run.tick();
  assert.deepEqual(last.skip, [{ step_id: 'notify', reason: 'upstream_skipped', upstream: 'ticket' }]);
  assert.deepEqual(started(last), ['reply']);
  assert.deepEqual(run.inputs.reply, { via: 'completed/skipped' });
  run.complete('reply', 'sent');
  assert.deepEqual((await run.tick()).run, {
    status: 'completed',
    output: { notify: null, reply: 'sent' },
  });
});

test('on_failure continue: dependents skip unless their when opts in; the run completes', async () => {
  const run = new Run(
    compile([
      { id: 'flaky', on_failure: 'continue' },
      { id: 'uses_it', depends_on: ['flaky'] },
      {
        id: 'fallback',
        depends_on: ['flaky'],
        when: 'steps.flaky.status = "failed"',
        input: { why: '{{ steps.flaky.error.message }}' },
      },
    ]),
    {},
  );
  await run.tick();
  run.fail('flaky', 'rate limited upstream');
  const d = await run.tick();
  assert.deepEqual(d.skip, [{ step_id: 'uses_it', reason: 'upstream_failed', upstream: 'flaky' }]);
  assert.deepEqual(started(d), ['fallback']);
  assert.deepEqual(run.inputs.fallback, { why: 'rate limited upstream' });
  run.complete('fallback', 'plan B');
  assert.deepEqual((await run.tick()).run, {
    status: 'completed',
    output: { uses_it: null, fallback: 'plan B' },
  });
});

test('retries wait backoff_ms · multiplier^(n-1), capped, then the last failure fails the run', async () => {
  const retry = { max_attempts: 4, backoff_ms: 1000, backoff_multiplier: 3, max_backoff_ms: 5000 };
  assert.deepEqual(
    [1, 2, 3].map((n) => retryDelay(retry, n)),
    [1000, 3000, 5000],
  );
  const run = new Run(
    compile([
      { id: 'call', retry, timeout_ms: 2000 },
      { id: 'after', depends_on: ['call'] },
    ]),
    {},
  );
  assert.equal((await run.tick()).start[0].timeout_ms, 2000);

  const waits = [1000, 3000, 5000];
  for (const [i, wait] of waits.entries()) {
    run.fail('call', `attempt ${i + 1}`);
    const failedAt = run.now;
    const d = await run.tick();
    assert.deepEqual(d.retry, [{ step_id: 'call', attempt: i + 2, at: failedAt + wait }]);
    assert.deepEqual(d.run, { status: 'running', wake_at: failedAt + wait });
    run.now = failedAt + wait - 1;
    const early = await run.tick();
    assert.deepEqual(started(early), [], 'not before its time');
    assert.deepEqual(early.run, { status: 'running', wake_at: failedAt + wait });
    run.now = failedAt + wait;
    const due = await run.tick();
    assert.deepEqual(
      due.start.map((s) => [s.step_id, s.attempt]),
      [['call', i + 2]],
    );
  }
  run.fail('call', 'attempt 4');
  const d = await run.tick();
  assert.deepEqual(d.retry, []);
  assert.deepEqual(d.run, {
    status: 'failed',
    error: { step_id: 'call', code: 'agent_error', message: 'attempt 4' },
  });
  assert.deepEqual(d.cancel, [{ step_id: 'after', was: 'pending' }]);
});

test('a zero backoff retries in the same decision', async () => {
  const run = new Run(
    compile([{ id: 'a', retry: { max_attempts: 2, backoff_ms: 0, max_backoff_ms: 0 } }]),
    {},
  );
  await run.tick();
  run.fail('a');
  const d = await run.tick();
  assert.deepEqual(d.retry, []);
  assert.deepEqual(
    d.start.map((s) => [s.step_id, s.attempt]),
    [['a', 2]],
  );
});

test('failure propagation: a failing step fails the run, cancels what runs, starts nothing', async () => {
  const run = new Run(
    compile([
      { id: 'a' },
      { id: 'b', depends_on: ['a'] },
      { id: 'c', depends_on: ['a'] },
      { id: 'd', depends_on: ['b', 'c'] },
      { id: 'e' },
    ]),
    {},
  );
  await run.tick();
  run.complete('a', 1);
  await run.tick();
  run.fail('b', 'model refused');
  const d = await run.tick();
  assert.deepEqual(d.start, []);
  assert.deepEqual(d.run, {
    status: 'failed',
    error: { step_id: 'b', code: 'agent_error', message: 'model refused' },
  });
  // topological order, ties by definition order: a b c d e
  assert.deepEqual(d.cancel, [
    { step_id: 'c', was: 'running' },
    { step_id: 'd', was: 'pending' },
    { step_id: 'e', was: 'running' },
  ]);
  // a late call on the failed run repeats the failure (b, not the cancelled c) and starts nothing
  const again = await run.tick();
  assert.deepEqual(again.start, []);
  assert.deepEqual(again.run, d.run);
});

test('a template that fails at run time fails its step without retries', async () => {
  const run = new Run(
    compile([
      { id: 'a', retry: { max_attempts: 3 } },
      {
        id: 'b',
        depends_on: ['a'],
        retry: { max_attempts: 3 },
        input: { n: '{{ $error("bad input: " & steps.a.output) }}' },
      },
      { id: 'c' },
    ]),
    {},
  );
  await run.tick();
  run.complete('a', 'xyz');
  const d = await run.tick();
  assert.equal(d.fail.length, 1);
  assert.equal(d.fail[0].step_id, 'b');
  assert.deepEqual(
    { code: d.fail[0].error.code, param: d.fail[0].error.param, retryable: d.fail[0].error.retryable },
    { code: 'expression_error', param: 'steps[1].input.n', retryable: false },
  );
  assert.match(d.fail[0].error.message, /bad input: xyz/);
  assert.equal(d.run.status, 'failed');
  assert.deepEqual(d.retry, []);
  assert.deepEqual(d.cancel, [{ step_id: 'c', was: 'running' }]);
});

test('a cancelled run cancels every live step', async () => {
  const run = new Run(compile([{ id: 'a' }, { id: 'b', depends_on: ['a'] }]), {});
  await run.tick();
  run.status = 'cancelled';
  const d = await run.tick();
  assert.deepEqual(d.cancel, [
    { step_id: 'a', was: 'running' },
    { step_id: 'b', was: 'pending' },
  ]);
  assert.deepEqual(d.run, { status: 'cancelled' });
});

test('determinism: same plan, states and now → the same decision, $now included', async () => {
  const definition = [
    { id: 'a' },
    ...Array.from({ length: 5 }, (_, i) => ({
      id: `w${i}`,
      depends_on: ['a'],
      when: `steps.a.output.n > ${i}`,
      input: { at: '{{ $now() }}', v: `{{ steps.a.output.n * ${i} }}` },
    })),
    { id: 'z', depends_on: ['w0', 'w4'], retry: { max_attempts: 2 } },
  ];
  const snapshot = {
    status: 'running' as const,
    input: {},
    steps: { a: { status: 'completed' as const, attempts: 1, output: { n: 3 } } },
  };
  const first = await schedule(compile(definition), snapshot, { now: T0 });
  const second = await schedule(compile(definition), structuredClone(snapshot), { now: T0 });
  assert.deepEqual(second, first);
  assert.deepEqual(started(first), ['w0', 'w1', 'w2']);
  assert.deepEqual(
    first.skip.map((s) => s.step_id),
    ['w3', 'w4'],
  );
  assert.deepEqual(first.start[2].input, { at: new Date(T0).toISOString(), v: 6 });
  assert.deepEqual(
    snapshot.steps,
    { a: { status: 'completed', attempts: 1, output: { n: 3 } } },
    'input not mutated',
  );
});
