import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  createModelRegistry,
  ModelError,
  type ModelRegistry,
  type ProviderConfig,
  parseProviderEnv,
} from '../../src/engine/providers/index.ts';
import { type FakeAnthropicServer, startFakeAnthropicServer } from '../support/fake-anthropic-server.ts';
import { startFakeOpenAIServer } from '../support/fake-openai-server.ts';
import { chunksOf, type FakeModelServer } from '../support/fake-upstream.ts';
import { call, rejection, streamed } from './provider-helpers.ts';

const OPENAI_KEY = 'sk-test-openai-5f2c9a';
const ANTHROPIC_KEY = 'sk-ant-test-77b1d0';

describe('parseProviderEnv', () => {
  it('defaults to no providers but mock and two retries', () => {
    assert.deepEqual(parseProviderEnv({}), { compatible: {}, maxRetries: 2 });
  });

  it('reads keys, base URLs, named compatible endpoints and retries', () => {
    const config = parseProviderEnv({
      OPENAI_API_KEY: 'sk-o',
      OPENAI_BASE_URL: 'https://proxy.example.com/v1/',
      ANTHROPIC_API_KEY: 'sk-a',
      ANTHROPIC_BASE_URL: '',
      AIRMY_PROVIDER_OLLAMA_BASE_URL: 'http://127.0.0.1:11434/v1',
      AIRMY_PROVIDER_LM_STUDIO_BASE_URL: 'http://localhost:1234/v1',
      AIRMY_PROVIDER_LM_STUDIO_API_KEY: 'lm-key',
      AIRMY_PROVIDER_MAX_RETRIES: '0',
      UNRELATED: 'x',
    });
    assert.deepEqual(config, {
      openai: { apiKey: 'sk-o', baseURL: 'https://proxy.example.com/v1' },
      anthropic: { apiKey: 'sk-a' },
      compatible: {
        lm_studio: { baseURL: 'http://localhost:1234/v1', apiKey: 'lm-key' },
        ollama: { baseURL: 'http://127.0.0.1:11434/v1' },
      },
      maxRetries: 0,
    });
    assert.ok(Object.isFrozen(config) && Object.isFrozen(config.compatible));
  });

  it('rejects bad values with one line naming the variable', () => {
    const cases: Array<[Record<string, string>, RegExp]> = [
      [{ AIRMY_PROVIDER_X_BASE_URL: 'ftp://x' }, /^AIRMY_PROVIDER_X_BASE_URL: must be an http\(s\) URL/],
      [{ OPENAI_BASE_URL: 'not a url' }, /^OPENAI_BASE_URL: must be an http\(s\) URL/],
      [{ ANTHROPIC_BASE_URL: 'file:///etc/passwd' }, /^ANTHROPIC_BASE_URL: must be an http\(s\) URL/],
      [
        { AIRMY_PROVIDER_MAX_RETRIES: 'two' },
        /^AIRMY_PROVIDER_MAX_RETRIES: must be a whole number from 0 to 10/,
      ],
      [{ AIRMY_PROVIDER_MAX_RETRIES: '-1' }, /^AIRMY_PROVIDER_MAX_RETRIES: /],
      [
        { AIRMY_PROVIDER_OPENAI_BASE_URL: 'http://x' },
        /^AIRMY_PROVIDER_OPENAI_BASE_URL: "openai" is a built-in/,
      ],
      [
        { AIRMY_PROVIDER_VLLM_API_KEY: 'k' },
        /^AIRMY_PROVIDER_VLLM_BASE_URL: required when AIRMY_PROVIDER_VLLM_API_KEY/,
      ],
    ];
    for (const [env, message] of cases) {
      assert.throws(() => parseProviderEnv(env), { message }, JSON.stringify(env));
    }
  });

  it('never echoes a bad API key', () => {
    const error = (() => {
      try {
        parseProviderEnv({ OPENAI_API_KEY: 'sk-secret value' });
      } catch (e) {
        return e as Error;
      }
    })();
    assert.match(error!.message, /^OPENAI_API_KEY: must not contain whitespace$/);
  });
});

describe('model ids', () => {
  const registry = createModelRegistry({
    openai: { apiKey: 'sk-x' },
    compatible: { ollama: { baseURL: 'http://127.0.0.1:9/v1' } },
    maxRetries: 0,
  });

  it('accepts provider/name ids of every known provider', () => {
    for (const id of [
      'mock/echo',
      'openai/gpt-4.1-mini',
      'anthropic/claude-sonnet-4-5',
      'ollama/llama3.2:8b',
      'ollama/meta-llama/Llama-3.1-8B-Instruct',
    ]) {
      assert.doesNotThrow(() => registry.validate(id), id);
    }
  });

  it('rejects malformed ids and unknown providers with unknown_model', () => {
    for (const id of [
      '',
      'gpt-4',
      'openai/',
      '/gpt-4',
      'OpenAI/gpt-4',
      'openai/gpt 4',
      'openai/../x',
      'openai/a//b',
      'openai/x/',
      `openai/${'x'.repeat(300)}`,
      'mock/\u0000',
      'vllm/llama',
    ]) {
      assert.throws(
        () => registry.validate(id),
        (e: ModelError) => e instanceof ModelError && e.code === 'unknown_model',
        id,
      );
    }
    assert.throws(() => registry.validate('vllm/llama'), /AIRMY_PROVIDER_VLLM_BASE_URL/);
  });

  it('says which providers are callable', () => {
    const bare = createModelRegistry({
      compatible: { ollama: { baseURL: 'http://127.0.0.1:9/v1' } },
      maxRetries: 0,
    });
    assert.equal(bare.isConfigured('mock/anything'), true);
    assert.equal(bare.isConfigured('ollama/llama3.2'), true);
    assert.equal(bare.isConfigured('openai/gpt-4.1'), false);
    assert.equal(bare.isConfigured('anthropic/claude-sonnet-4-5'), false);
    assert.equal(bare.isConfigured('nope/x'), false);
    assert.equal(registry.isConfigured('openai/gpt-4.1'), true);
  });
});

describe('real providers against local wire-protocol servers', () => {
  let openai: FakeModelServer;
  let anthropic: FakeAnthropicServer;
  let ollama: FakeModelServer;
  let registry: ModelRegistry;

  before(async () => {
    [openai, anthropic, ollama] = await Promise.all([
      startFakeOpenAIServer({ apiKey: OPENAI_KEY }),
      startFakeAnthropicServer({ apiKey: ANTHROPIC_KEY }),
      startFakeOpenAIServer(),
    ]);
    registry = createModelRegistry(config());
  });
  after(() => Promise.all([openai.close(), anthropic.close(), ollama.close()]));

  function config(overrides: Partial<ProviderConfig> = {}): ProviderConfig {
    return {
      openai: { apiKey: OPENAI_KEY, baseURL: openai.baseURL },
      anthropic: { apiKey: ANTHROPIC_KEY, baseURL: anthropic.baseURL },
      compatible: { ollama: { baseURL: ollama.baseURL } },
      maxRetries: 0,
      ...overrides,
    };
  }
  const params = { temperature: 0.25, max_output_tokens: 64 };

  it('openai: calls the Responses API with key, system prompt and settings', async () => {
    openai.script = { text: 'Revenue grew 18%.', inputTokens: 31, outputTokens: 6 };
    const result = await registry.call(
      call({ model: 'openai/gpt-4.1-mini', parameters: { ...params, top_p: 0.5 } }),
    );
    assert.deepEqual(result, {
      text: 'Revenue grew 18%.',
      usage: { input_tokens: 31, output_tokens: 6 },
      finish_reason: 'stop',
    });
    const sent = openai.requests.at(-1)!;
    assert.equal(sent.path, '/v1/responses');
    assert.equal(sent.headers.authorization, `Bearer ${OPENAI_KEY}`);
    const body = sent.body as Record<string, unknown>;
    assert.equal(body.model, 'gpt-4.1-mini');
    assert.deepEqual(body.input, [
      { role: 'system', content: 'You are a terse analyst.' },
      { role: 'user', content: [{ type: 'input_text', text: 'How did Q1 go?' }] },
    ]);
    assert.equal(body.temperature, 0.25);
    assert.equal(body.top_p, 0.5);
    assert.equal(body.max_output_tokens, 64);
  });

  for (const [label, model, server] of [
    ['openai', 'openai/gpt-4.1-mini', () => openai],
    ['anthropic', 'anthropic/claude-sonnet-4-5', () => anthropic],
    ['compatible', 'ollama/llama3.2', () => ollama],
  ] as const) {
    it(`${label}: streams deltas in order that join to the text, with usage`, async () => {
      server().script = {
        text: 'Pricing, volume and retention drove the quarter.',
        inputTokens: 40,
        outputTokens: 9,
      };
      const { result, deltas } = await streamed(registry, call({ model, parameters: params }));
      assert.deepEqual(deltas, chunksOf(server().script));
      assert.ok(deltas.length > 3);
      assert.equal(deltas.join(''), result.text);
      assert.equal(result.text, 'Pricing, volume and retention drove the quarter.');
      assert.deepEqual(result.usage, { input_tokens: 40, output_tokens: 9 });
      assert.equal(result.finish_reason, 'stop');
      assert.equal((server().requests.at(-1)!.body as { stream?: boolean }).stream, true);
    });

    it(`${label}: upstream 429 → provider_rate_limited, 500 → provider_error`, async () => {
      server().failNext(429);
      const limited = await rejection(registry.call(call({ model })));
      assert.equal(limited.code, 'provider_rate_limited');
      assert.equal(limited.status, 429);
      assert.equal(limited.retryable, true);
      server().failNext(500);
      const broken = await rejection(registry.call(call({ model, onDelta: () => {} })));
      assert.equal(broken.code, 'provider_error');
      assert.equal(broken.status, 500);
      assert.equal(broken.retryable, true);
      assert.match(broken.message, new RegExp(`^${model.split('/')[0]} answered 500: `));
    });

    it(`${label}: aborting mid-stream rejects with AbortError and closes the upstream connection`, async () => {
      server().setDelay(150); // the whole stream would take ~2 s
      try {
        const controller = new AbortController();
        const closed = server().nextClientAbort();
        let abortedAt = 0;
        const error = await rejection(
          registry.call(
            call({
              model,
              signal: controller.signal,
              onDelta: () => {
                if (abortedAt === 0) {
                  abortedAt = performance.now();
                  controller.abort();
                }
              },
            }),
          ),
        );
        assert.equal(error.name, 'AbortError');
        assert.ok(abortedAt > 0, 'a delta arrived before the abort');
        assert.ok(performance.now() - abortedAt < 250, 'rejected promptly');
        await closed;
        assert.ok(performance.now() - abortedAt < 500, 'upstream connection closed promptly');
      } finally {
        server().setDelay(0);
      }
    });
  }

  it('anthropic: sends x-api-key, the API version, the system prompt and max_tokens', async () => {
    anthropic.script = { text: 'Fine.', inputTokens: 12, outputTokens: 2 };
    const result = await registry.call(
      call({ model: 'anthropic/claude-sonnet-4-5', parameters: { ...params, stop: 'END' } }),
    );
    assert.deepEqual(result, {
      text: 'Fine.',
      usage: { input_tokens: 12, output_tokens: 2 },
      finish_reason: 'stop',
    });
    const sent = anthropic.requests.at(-1)!;
    assert.equal(sent.path, '/v1/messages');
    assert.equal(sent.headers['x-api-key'], ANTHROPIC_KEY);
    assert.equal(sent.headers['anthropic-version'], '2023-06-01');
    const body = sent.body as Record<string, unknown>;
    assert.deepEqual(body.system, [{ type: 'text', text: 'You are a terse analyst.' }]);
    assert.equal(body.temperature, 0.25);
    assert.equal(body.max_tokens, 64);
    assert.deepEqual(body.stop_sequences, ['END']);
  });

  it('compatible: calls /chat/completions, no Authorization without a key, one with', async () => {
    ollama.script = { text: 'Hello.', inputTokens: 5, outputTokens: 2 };
    const input = { prompt: 'Say hello', other: 1 };
    const result = await registry.call(
      call({ model: 'ollama/llama3.2', instructions: null, input, parameters: { stop: ['\n\n'] } }),
    );
    assert.deepEqual(result, {
      text: 'Hello.',
      usage: { input_tokens: 5, output_tokens: 2 },
      finish_reason: 'stop',
    });
    const sent = ollama.requests.at(-1)!;
    assert.equal(sent.path, '/v1/chat/completions');
    assert.equal(sent.headers.authorization, undefined);
    const body = sent.body as Record<string, unknown>;
    assert.deepEqual(body.messages, [{ role: 'user', content: 'Say hello' }]);
    assert.deepEqual(body.stop, ['\n\n']);

    const keyed = createModelRegistry(
      config({ compatible: { vllm: { baseURL: ollama.baseURL, apiKey: 'vllm-key' } } }),
    );
    await keyed.call(call({ model: 'vllm/Qwen/Qwen2.5-7B-Instruct' }));
    assert.equal(ollama.requests.at(-1)!.headers.authorization, 'Bearer vllm-key');
    assert.equal((ollama.requests.at(-1)!.body as { model: string }).model, 'Qwen/Qwen2.5-7B-Instruct');
  });

  it('missing key → provider_not_configured without any request', async () => {
    const keyless = createModelRegistry(
      config({ openai: { baseURL: openai.baseURL }, anthropic: { baseURL: anthropic.baseURL } }),
    );
    const before = [openai.requests.length, anthropic.requests.length];
    for (const model of ['openai/gpt-4.1-mini', 'anthropic/claude-sonnet-4-5']) {
      for (const onDelta of [undefined, () => {}]) {
        const error = await rejection(keyless.call(call({ model, onDelta })));
        assert.equal(error.code, 'provider_not_configured');
        assert.match(error.message, /OPENAI_API_KEY|ANTHROPIC_API_KEY/);
      }
    }
    assert.deepEqual([openai.requests.length, anthropic.requests.length], before);
  });

  it('a rejected key → provider_auth_failed, and the key never appears in the message', async () => {
    const wrongKey = 'sk-wrong-9d8c7b6a5f4e';
    const wrong = createModelRegistry(config({ openai: { apiKey: wrongKey, baseURL: openai.baseURL } }));
    const error = await rejection(wrong.call(call({ model: 'openai/gpt-4.1-mini' })));
    assert.equal(error.code, 'provider_auth_failed');
    assert.equal(error.status, 401);
    assert.equal(error.retryable, false);
    // The fake echoes the key it was sent, as some upstreams do.
    assert.match(error.message, /Incorrect API key provided: \[redacted\]/);
    assert.ok(!error.message.includes(wrongKey));
  });

  it('an error event mid-stream → provider_error, after the deltas sent before it', async () => {
    anthropic.script = { text: 'Partial answer here.', inputTokens: 4, outputTokens: 3 };
    anthropic.breakNextStream('overloaded_error', 'Overloaded');
    const deltas: string[] = [];
    const error = await rejection(
      registry.call(call({ model: 'anthropic/claude-sonnet-4-5', onDelta: (d) => deltas.push(d) })),
    );
    assert.deepEqual(deltas, ['Partial ']);
    assert.equal(error.code, 'provider_error');
    assert.equal(error.retryable, true);
    assert.match(error.message, /^anthropic stream failed \(overloaded_error\): Overloaded$/);
  });

  it('other 4xx → provider_bad_request', async () => {
    anthropic.failNext(400, 'max_tokens: must be at most 8192');
    const error = await rejection(registry.call(call({ model: 'anthropic/claude-sonnet-4-5' })));
    assert.equal(error.code, 'provider_bad_request');
    assert.equal(error.status, 400);
    assert.match(error.message, /max_tokens: must be at most 8192/);
  });

  it('retries a 5xx as many times as configured', async () => {
    const retrying = createModelRegistry(config({ maxRetries: 1 }));
    openai.script = { text: 'Second time lucky.', inputTokens: 3, outputTokens: 4 };
    const count = openai.requests.length;
    openai.failNext(500, undefined, { 'retry-after-ms': '0' });
    const result = await retrying.call(call({ model: 'openai/gpt-4.1-mini' }));
    assert.equal(result.text, 'Second time lucky.');
    assert.equal(openai.requests.length, count + 2);
  });

  it('gives up after the configured retries with the last upstream answer', async () => {
    const retrying = createModelRegistry(config({ maxRetries: 1 }));
    const count = openai.requests.length;
    openai.failNext(503, undefined, { 'retry-after-ms': '0' });
    openai.failNext(500, 'still down', { 'retry-after-ms': '0' });
    const error = await rejection(retrying.call(call({ model: 'openai/gpt-4.1-mini' })));
    assert.equal(error.code, 'provider_error');
    assert.equal(error.status, 500);
    assert.match(error.message, /still down/);
    assert.equal(openai.requests.length, count + 2);
  });

  it('a non-retryable answer after a retry ends the call with that answer', async () => {
    const retrying = createModelRegistry(config({ maxRetries: 3 }));
    const count = openai.requests.length;
    openai.failNext(429, undefined, { 'retry-after': '0' });
    openai.failNext(400, 'temperature: out of range');
    const error = await rejection(retrying.call(call({ model: 'openai/gpt-4.1-mini' })));
    assert.equal(error.code, 'provider_bad_request');
    assert.equal(error.status, 400);
    assert.match(error.message, /temperature: out of range/);
    assert.equal(openai.requests.length, count + 2);
  });

  it('aborting a non-streamed call rejects with AbortError and closes the connection', async () => {
    anthropic.setDelay(2000);
    try {
      const controller = new AbortController();
      const closed = anthropic.nextClientAbort();
      const pending = registry.call(
        call({ model: 'anthropic/claude-sonnet-4-5', signal: controller.signal }),
      );
      const sent = anthropic.requests.length;
      while (anthropic.requests.length === sent) await new Promise((r) => setImmediate(r));
      const abortedAt = performance.now();
      controller.abort();
      const error = await rejection(pending);
      assert.equal(error.name, 'AbortError');
      await closed;
      assert.ok(performance.now() - abortedAt < 500);
    } finally {
      anthropic.setDelay(0);
    }
  });

  it('an already aborted signal sends nothing', async () => {
    const count = openai.requests.length;
    const error = await rejection(
      registry.call(call({ model: 'openai/gpt-4.1-mini', signal: AbortSignal.abort() })),
    );
    assert.equal(error.name, 'AbortError');
    assert.equal(openai.requests.length, count);
  });

  it('bad parameters fail before anything is sent', async () => {
    const count = openai.requests.length;
    const error = await rejection(
      registry.call(call({ model: 'openai/gpt-4.1-mini', parameters: { temperature: 'hot' } })),
    );
    assert.equal(error.code, 'provider_bad_request');
    assert.equal(error.message, 'parameters.temperature: must be a number');
    assert.equal(openai.requests.length, count);
  });

  it('an onDelta that throws fails the call with its own error and hangs up', async () => {
    openai.setDelay(100);
    try {
      const closed = openai.nextClientAbort();
      const boom = new Error('subscriber went away');
      const error = await rejection(
        registry.call(
          call({
            model: 'openai/gpt-4.1-mini',
            onDelta: () => {
              throw boom;
            },
          }),
        ),
      );
      assert.equal(error, boom);
      await closed;
    } finally {
      openai.setDelay(0);
    }
  });
});
