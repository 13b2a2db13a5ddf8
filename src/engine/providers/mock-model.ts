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
 * - `errorRate`: the share (0–1) of calls that fail that way (code `mock_error`), drawn at random per
 *   call: a flaky model for canary tests (`mock_error_rate`).
 * - `toolCalls` / `toolRounds`: a tool script. While fewer than `toolRounds` (default 1) steps since
 *   the last user message have called tools, and the call offers tools (tool choice not `none`),
 *   the step answers with those tool calls instead of text; the step after that answers with text
 *   quoting each tool's result, so a tool loop is testable offline and deterministically.
 *
 * Usage is counted with a real tokenizer over the system and user text and over the reply. A call
 * with no latency does no timer work at all: it sits on the hot path of the throughput benchmark.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type {
  LanguageModelV3,
  LanguageModelV3CallOptions,
  LanguageModelV3Content,
  LanguageModelV3Prompt,
  LanguageModelV3StreamPart,
  LanguageModelV3ToolResultOutput,
  LanguageModelV3Usage,
} from '@ai-sdk/provider';
import { ModelError, ModelErrorCodes } from './errors.ts';
import { mockReply, mockToolReply, type ToolOutcome } from './mock-reply.ts';
import type { TokenCounter } from './tokenizer.ts';

export interface MockOptions {
  reply?: string;
  latencyMs?: number;
  chunkSize?: number;
  error?: { code?: string; message: string };
  errorRate?: number;
  toolCalls?: { tool: string; input: Record<string, unknown> }[];
  toolRounds?: number;
}

const RETRYABLE_CODES: readonly string[] = [
  ModelErrorCodes.provider_rate_limited,
  ModelErrorCodes.provider_error,
];

interface PromptSummary {
  counted: string[];
  lastUser: string;
  /** steps since the last user message that called tools */
  toolSteps: number;
  /** tool results since the last user message, in order */
  outcomes: ToolOutcome[];
}

function outcomeText(output: LanguageModelV3ToolResultOutput): { text: string; error: boolean } {
  switch (output.type) {
    case 'text':
      return { text: output.value, error: false };
    case 'json': {
      // The engine hands a failed tool's `{error: {…}}` to the model as a plain JSON result.
      const value = output.value;
      const failed = value !== null && typeof value === 'object' && !Array.isArray(value) && 'error' in value;
      return { text: JSON.stringify(value), error: failed };
    }
    case 'error-text':
      return { text: output.value, error: true };
    case 'error-json':
      return { text: JSON.stringify(output.value), error: true };
    case 'execution-denied':
      return { text: output.reason ?? 'denied', error: true };
    default:
      return { text: JSON.stringify(output.value), error: false };
  }
}

function promptText(prompt: LanguageModelV3Prompt): PromptSummary {
  const counted: string[] = [];
  let lastUser = '';
  let toolSteps = 0;
  let outcomes: ToolOutcome[] = [];
  for (const message of prompt) {
    if (message.role === 'system') {
      counted.push(message.content);
    } else if (message.role === 'user') {
      let text = '';
      for (const part of message.content) if (part.type === 'text') text += part.text;
      counted.push(text);
      lastUser = text;
      toolSteps = 0;
      outcomes = [];
    } else if (message.role === 'assistant') {
      if (message.content.some((part) => part.type === 'tool-call')) toolSteps += 1;
    } else if (message.role === 'tool') {
      for (const part of message.content) {
        if (part.type !== 'tool-result') continue;
        const { text, error } = outcomeText(part.output);
        counted.push(text);
        outcomes.push({ tool: part.toolName, text, error });
      }
    }
  }
  return { counted, lastUser, toolSteps, outcomes };
}

/** The scripted tool calls this step makes, or null when it answers with text. */
function scriptedCalls(mock: MockOptions, options: LanguageModelV3CallOptions, toolSteps: number) {
  if (!mock.toolCalls?.length || !options.tools?.length || options.toolChoice?.type === 'none') return null;
  if (toolSteps >= (mock.toolRounds ?? 1)) return null;
  return mock.toolCalls.map((call, i) => ({
    type: 'tool-call' as const,
    toolCallId: `mock_call_${toolSteps + 1}_${i + 1}`,
    toolName: call.tool,
    input: JSON.stringify(call.input),
  }));
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
    let mock = (options.providerOptions?.mock ?? {}) as MockOptions;
    if (!mock.error && mock.errorRate !== undefined && Math.random() < mock.errorRate)
      mock = { ...mock, error: { message: 'The mock model failed this call (mock_error_rate)' } };
    const { counted, lastUser, toolSteps, outcomes } = promptText(options.prompt);
    const calls = scriptedCalls(mock, options, toolSteps);
    const reply =
      mock.reply ?? (outcomes.length > 0 ? mockToolReply(lastUser, outcomes) : mockReply(lastUser));
    return { mock, counted, reply, calls, latencyMs: mock.latencyMs ?? 0 };
  }

  const toolUsage = async (counted: string[], calls: { input: string }[]) =>
    usageOf(await count(counted), await count(calls.map((c) => c.input)));

  return {
    specificationVersion: 'v3',
    provider: 'mock',
    modelId,
    supportedUrls: {},

    async doGenerate(options) {
      const { mock, counted, reply, calls, latencyMs } = prepare(options);
      options.abortSignal?.throwIfAborted();
      if (latencyMs > 0) await sleep(latencyMs, undefined, { signal: options.abortSignal });
      if (mock.error) throw scriptedError(mock.error);
      if (calls) {
        return {
          content: calls as LanguageModelV3Content[],
          finishReason: { unified: 'tool-calls', raw: 'tool_calls' },
          usage: await toolUsage(counted, calls),
          warnings: [],
        };
      }
      const usage = usageOf(await count(counted), await count([reply]));
      return {
        content: reply === '' ? [] : [{ type: 'text', text: reply }],
        finishReason: { unified: 'stop', raw: 'stop' },
        usage,
        warnings: [],
      };
    },

    async doStream(options) {
      const { mock, counted, reply, calls, latencyMs } = prepare(options);
      options.abortSignal?.throwIfAborted();
      const signal = options.abortSignal;
      if (calls && !mock.error) {
        // A tool-calling step streams no text: after the latency, its calls and its finish.
        if (latencyMs > 0) await sleep(latencyMs, undefined, { signal });
        const parts: LanguageModelV3StreamPart[] = [
          { type: 'stream-start', warnings: [] },
          { type: 'response-metadata', modelId },
          ...calls,
          {
            type: 'finish',
            usage: await toolUsage(counted, calls),
            finishReason: { unified: 'tool-calls', raw: 'tool_calls' },
          },
        ];
        return {
          stream: new ReadableStream<LanguageModelV3StreamPart>({
            start(controller) {
              for (const part of parts) controller.enqueue(part);
              controller.close();
            },
          }),
        };
      }
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
