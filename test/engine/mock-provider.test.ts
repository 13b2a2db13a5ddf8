import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { createModelRegistry, type ModelCall, ModelError } from '../../src/engine/providers/index.ts';
import { call, rejection, streamed } from './provider-helpers.ts';

const QUICKSTART = { query: 'Summarize Q1 revenue drivers' };

describe('mock models', () => {
  // One registry for the suite: building the tokenizer costs about a second.
  const registry = createModelRegistry({ compatible: {}, maxRetries: 0 });
  before(() => registry.warmUp());
  const mock = (overrides: Partial<ModelCall> = {}) =>
    call({ model: 'mock/echo', input: QUICKSTART, ...overrides });

  it('answers the quickstart with a short, deterministic summary', async () => {
    const first = await registry.call(mock());
    assert.match(
      first.text,
      /^Mock answer to "Summarize Q1 revenue drivers": Q1 revenue drivers come down to three things: [a-z ]+, [a-z ]+ and [a-z ]+\. .+ roughly \d\d% of the change/,
    );
    assert.equal(first.finish_reason, 'stop');
    const again = await createModelRegistry({ compatible: {}, maxRetries: 0 }).call(
      mock({ model: 'mock/other' }),
    );
    assert.equal(again.text, first.text, 'same input, same reply, whatever the registry or mock name');
    const other = await registry.call(mock({ input: { query: 'Summarize Q2 hiring plans' } }));
    assert.notEqual(other.text, first.text);
    assert.match(other.text, /^Mock answer to "Summarize Q2 hiring plans": Q2 hiring plans come down to/);
  });

  it('takes the user message from query, prompt or message, else the whole input as JSON', async () => {
    const quoted = async (input: Record<string, unknown>) =>
      /^Mock answer to "(.*?)": /.exec((await registry.call(mock({ input }))).text)?.[1];
    assert.equal(await quoted({ query: 'Q', prompt: 'P' }), 'Q');
    assert.equal(await quoted({ prompt: 'Why is churn up?' }), 'Why is churn up?');
    assert.equal(await quoted({ message: 'Hello there' }), 'Hello there');
    assert.equal(await quoted({ query: 42, region: 'EU' }), '{"query":42,"region":"EU"}');
  });

  it('replies with mock_reply when scripted', async () => {
    const result = await registry.call(
      mock({ parameters: { mock_reply: 'Q1 revenue was $4.2M, up 18% YoY.' } }),
    );
    assert.equal(result.text, 'Q1 revenue was $4.2M, up 18% YoY.');
  });

  it('counts tokens with o200k_base over system + user message and over the reply', async () => {
    // Known o200k_base counts; cl100k_base would give 8 and 4 for the two non-Latin strings.
    const result = await registry.call(
      mock({
        instructions: 'hello world',
        input: { query: 'Привет, как дела?' },
        parameters: { mock_reply: 'こんにちは世界' },
      }),
    );
    assert.deepEqual(result.usage, { input_tokens: 2 + 6, output_tokens: 2 });
    const quickstart = await registry.call(
      mock({ instructions: null, parameters: { mock_reply: 'tiktoken is great!' } }),
    );
    assert.deepEqual(quickstart.usage, { input_tokens: 7, output_tokens: 6 });
  });

  it('streams one word per chunk by default, or mock_chunk_size characters', async () => {
    const words = await streamed(registry, mock());
    assert.equal(words.deltas.join(''), words.result.text);
    assert.deepEqual(words.deltas, words.result.text.match(/\S+\s*/g));
    assert.deepEqual(words.result.usage, (await registry.call(mock())).usage);
    const sized = await streamed(
      registry,
      mock({ parameters: { mock_reply: 'abcdefghijklm', mock_chunk_size: 5 } }),
    );
    assert.deepEqual(sized.deltas, ['abcde', 'fghij', 'klm']);
    const emoji = await streamed(
      registry,
      mock({ parameters: { mock_reply: '👍👍👍', mock_chunk_size: 2 } }),
    );
    assert.deepEqual(emoji.deltas, ['👍👍', '👍'], 'chunks never split a surrogate pair');
  });

  it('spreads mock_latency_ms over the chunks', async () => {
    const started = performance.now();
    const seen: number[] = [];
    const result = await registry.call(
      mock({
        parameters: { mock_reply: 'one two three four', mock_latency_ms: 400 },
        onDelta: () => seen.push(performance.now() - started),
      }),
    );
    const total = performance.now() - started;
    assert.equal(result.text, 'one two three four');
    assert.equal(seen.length, 4);
    // Chunk i is due at 100·(i+1) ms. A GC pause may delay a chunk (the later ones then catch up),
    // so the bounds only say: none early, and not all in one burst at the end.
    assert.ok(seen[0] >= 95, `first chunk after ~100 ms, got ${seen[0]}`);
    assert.ok(seen[3] >= 395, `last chunk after ~400 ms, got ${seen[3]}`);
    assert.ok(seen[3] - seen[0] >= 100, `chunks spread over the latency, got ${seen}`);
    assert.ok(total < 2000, `total ~400 ms, got ${total}`);
    const t0 = performance.now();
    await registry.call(mock({ parameters: { mock_latency_ms: 120 } }));
    assert.ok(performance.now() - t0 >= 115);
  });

  it('stops waiting as soon as the signal aborts', async () => {
    for (const onDelta of [undefined, () => {}]) {
      const controller = new AbortController();
      const pending = registry.call(
        mock({ parameters: { mock_latency_ms: 10_000 }, signal: controller.signal, onDelta }),
      );
      setTimeout(() => controller.abort(), 30);
      const started = performance.now();
      const error = await rejection(pending);
      assert.equal(error.name, 'AbortError');
      assert.ok(performance.now() - started < 1000, 'rejected long before the 10 s latency');
    }
  });

  it('fails with mock_error as scripted', async () => {
    for (const onDelta of [undefined, () => assert.fail('no delta expected')]) {
      const error = await rejection(
        registry.call(mock({ parameters: { mock_error: { message: 'boom' } }, onDelta })),
      );
      assert.ok(error instanceof ModelError);
      assert.equal(error.code, 'mock_error');
      assert.equal(error.message, 'boom');
      assert.equal(error.retryable, false);
    }
    const limited = await rejection(
      registry.call(
        mock({ parameters: { mock_error: { code: 'provider_rate_limited', message: 'slow down' } } }),
      ),
    );
    assert.equal(limited.code, 'provider_rate_limited');
    assert.equal(limited.retryable, true);
    const bad = await rejection(registry.call(mock({ parameters: { mock_error: 'boom' } })));
    assert.equal(bad.code, 'provider_bad_request');
  });

  it('keeps a zero-latency call cheap', async () => {
    for (let i = 0; i < 200; i++) await registry.call(mock()); // JIT and GC settle after the tokenizer build
    const n = 500;
    const started = performance.now();
    for (let i = 0; i < n; i++) await registry.call(mock());
    const perCall = (performance.now() - started) / n;
    // A figure, not a threshold: timing asserts are flaky on shared CI machines (see README Performance).
    console.log(`# zero-latency mock call: ${perCall.toFixed(3)} ms`);
    assert.ok(Number.isFinite(perCall));
  });
});
