/**
 * `mock/*`: a real LanguageModelV3, so a mock run goes through exactly the same generateText /
 * streamText path as OpenAI or Anthropic and the engine cannot tell the difference. Everything is
 * deterministic and offline. Its knobs arrive as provider options under `mock` (built by the
 * registry from the `mock_*` run parameters):
 *
 * - `reply`: the text to answer with; by default one derived from the last user message.
 * - `latencyMs`: total simulated latency. Streamed, chunk i of n is due at latency·(i+1)/n after
 *   the start, so the total stays right however many chunks there are; not streamed, the whole
 *   reply comes after the latency. Both waits end at once when the call's signal aborts.
 * - `chunkSize`: characters (code points) per streamed chunk; by default one word and the space after it.
 * - `error`: `{code?, message}` makes the call fail with a ModelError after the latency.
 *
 * Usage is counted with a real tokenizer over the system and user text and over the reply. A call
 * with no latency does no timer work at all: it sits on the hot path of the throughput benchmark.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type {
  LanguageModelV3,
  LanguageModelV3CallOptions,
  LanguageModelV3Prompt,
  LanguageModelV3StreamPart,
  LanguageModelV3Usage,
} from '@ai-sdk/provider';
import { ModelError, ModelErrorCodes } from './errors.ts';
import { mockReply } from './mock-reply.ts';
import type { TokenCounter } from './tokenizer.ts';

export interface MockOptions {
  reply?: string;
  latencyMs?: number;
  chunkSize?: number;
  error?: { code?: string; message: string };
}

const RETRYABLE_CODES: readonly string[] = [
  ModelErrorCodes.provider_rate_limited,
  ModelErrorCodes.provider_error,
];

function promptText(prompt: LanguageModelV3Prompt): { counted: string[]; lastUser: string } {
  const counted: string[] = [];
  let lastUser = '';
  for (const message of prompt) {
    if (message.role === 'system') {
      counted.push(message.content);
    } else if (message.role === 'user') {
      let text = '';
      for (const part of message.content) if (part.type === 'text') text += part.text;
      counted.push(text);
      lastUser = text;
    }
  }
  return { counted, lastUser };
}

function splitChunks(text: string, chunkSize: number | undefined): string[] {
  if (chunkSize !== undefined) {
    // By code point, so a chunk never ends in half a surrogate pair.
    const chars = Array.from(text);
    const chunks: string[] = [];
    for (let i = 0; i < chars.length; i += chunkSize) chunks.push(chars.slice(i, i + chunkSize).join(''));
    return chunks;
  }
  // A word and the whitespace after it; leading whitespace rides with the first word.
  return text.match(/^\s*\S+\s*|\S+\s*/g) ?? (text === '' ? [] : [text]);
}

function usageOf(input: number, output: number): LanguageModelV3Usage {
  return {
    inputTokens: { total: input, noCache: input, cacheRead: 0, cacheWrite: 0 },
    outputTokens: { total: output, text: output, reasoning: 0 },
  };
}

function scriptedError(error: NonNullable<MockOptions['error']>): ModelError {
  const code = error.code ?? ModelErrorCodes.mock_error;
  return new ModelError(code, error.message, { retryable: RETRYABLE_CODES.includes(code) });
}

export function createMockModel(modelId: string, counter: TokenCounter): LanguageModelV3 {
  async function count(texts: string[]): Promise<number> {
    let total = 0;
    for (const text of texts) total += counter.countSync(text) ?? (await counter.count(text));
    return total;
  }

  function prepare(options: LanguageModelV3CallOptions) {
    const mock = (options.providerOptions?.mock ?? {}) as MockOptions;
    const { counted, lastUser } = promptText(options.prompt);
    const reply = mock.reply ?? mockReply(lastUser);
    return { mock, counted, reply, latencyMs: mock.latencyMs ?? 0 };
  }

  return {
    specificationVersion: 'v3',
    provider: 'mock',
    modelId,
    supportedUrls: {},

    async doGenerate(options) {
      const { mock, counted, reply, latencyMs } = prepare(options);
      options.abortSignal?.throwIfAborted();
      if (latencyMs > 0) await sleep(latencyMs, undefined, { signal: options.abortSignal });
      if (mock.error) throw scriptedError(mock.error);
      const usage = usageOf(await count(counted), await count([reply]));
      return {
        content: reply === '' ? [] : [{ type: 'text', text: reply }],
        finishReason: { unified: 'stop', raw: 'stop' },
        usage,
        warnings: [],
      };
    },

    async doStream(options) {
      const { mock, counted, reply, latencyMs } = prepare(options);
      options.abortSignal?.throwIfAborted();
      const signal = options.abortSignal;
      const chunks = mock.error ? [] : splitChunks(reply, mock.chunkSize);
      // Counting before the stream starts keeps the stream itself free of awaits when there is
      // no latency.
      const usage = usageOf(await count(counted), await count([reply]));
      const id = 'txt-0';
      const head: LanguageModelV3StreamPart[] = [
        { type: 'stream-start', warnings: [] },
        { type: 'response-metadata', modelId },
        { type: 'text-start', id },
      ];
      const tail: LanguageModelV3StreamPart[] = [
        { type: 'text-end', id },
        { type: 'finish', usage, finishReason: { unified: 'stop', raw: 'stop' } },
      ];

      if (latencyMs <= 0) {
        return {
          stream: new ReadableStream<LanguageModelV3StreamPart>({
            start(controller) {
              for (const part of head) controller.enqueue(part);
              if (mock.error) {
                controller.error(scriptedError(mock.error));
                return;
              }
              for (const delta of chunks) controller.enqueue({ type: 'text-delta', id, delta });
              for (const part of tail) controller.enqueue(part);
              controller.close();
            },
          }),
        };
      }

      const started = performance.now();
      const steps = Math.max(chunks.length, 1);
      let next = 0;
      return {
        stream: new ReadableStream<LanguageModelV3StreamPart>({
          start(controller) {
            for (const part of head) controller.enqueue(part);
          },
          async pull(controller) {
            const due = started + (latencyMs * (next + 1)) / steps;
            const wait = due - performance.now();
            if (wait > 0) await sleep(wait, undefined, { signal });
            if (mock.error) {
              controller.error(scriptedError(mock.error));
              return;
            }
            if (next < chunks.length) {
              controller.enqueue({ type: 'text-delta', id, delta: chunks[next] });
              next += 1;
            }
            if (next >= chunks.length) {
              for (const part of tail) controller.enqueue(part);
              controller.close();
            }
          },
        }),
      };
    },
  };
}
