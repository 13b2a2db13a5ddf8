/**
 * The model registry: model id → AI SDK language model, and the one call path every provider
 * goes through: streamText when the caller wants deltas; generateText with the AI SDK's tool loop
 * (set up in tools.ts) when the call has tools; otherwise a single `doGenerate` step with the SDK's
 * retry policy (one-shot.ts). Provider adapters and model objects are built lazily and
 * kept per registry, so two registries with different config can live side by side (tests do) and
 * an unused provider costs nothing.
 *
 * Abort semantics: whatever the SDK throws when the signal fires (a DOMException from fetch, an
 * `abort` stream part, a RetryError around either), the call rejects with an error named
 * AbortError. The streamed path also aborts the upstream request itself when it stops early for
 * any other reason (an upstream error part, a throwing `onDelta`), so no connection outlives the
 * call.
 */
import { createAnthropic } from '@ai-sdk/anthropic';
import { createOpenAI } from '@ai-sdk/openai';
import { createOpenAICompatible } from '@ai-sdk/openai-compatible';
import type { LanguageModelV3, SharedV3ProviderOptions } from '@ai-sdk/provider';
import { type FinishReason, generateText, type LanguageModelUsage, streamText } from 'ai';
import { BuiltInProviders, type ProviderConfig } from './env.ts';
import { abortError, ModelError, ModelErrorCodes, toModelError } from './errors.ts';
import { createMockModel } from './mock-model.ts';
import { generateOnce } from './one-shot.ts';
import { callSettings, mockOptions, userMessage } from './parameters.ts';
import { createTokenCounter, type TokenCounter } from './tokenizer.ts';
import { toolLoopOptions } from './tools.ts';
import type { ModelCall, ModelRegistry, ModelResult } from './types.ts';

const OPENAI_DEFAULT_URL = 'https://api.openai.com/v1';
const ANTHROPIC_DEFAULT_URL = 'https://api.anthropic.com/v1';
const MAX_ID_LENGTH = 256;
const PROVIDER = /^[a-z0-9][a-z0-9_-]*$/;
// Names are passed in a JSON body, never a URL path, but stay conservative: Hugging Face style
// `org/model`, Ollama tags `llama3.2:8b`, dated ids `model@2025-01-01`.
const NAME = /^[A-Za-z0-9][A-Za-z0-9._:@+-]*(?:\/[A-Za-z0-9._:@+-]+)*$/;
/** `provider/name` as one pattern, for the OpenAPI document (the provider must also be configured). */
export const MODEL_ID_PATTERN = `^${PROVIDER.source.slice(1, -1)}/${NAME.source.slice(1, -1)}$`;
/** Model objects are cheap but ids come from user config; bound the cache all the same. */
const MODEL_CACHE_LIMIT = 256;

type ProviderKind = 'mock' | 'openai' | 'anthropic' | 'compatible';

function shown(model: string): string {
  return JSON.stringify(model.length > 80 ? model.slice(0, 79) + '…' : model);
}

function finishReason(reason: FinishReason): string {
  switch (reason) {
    case 'content-filter':
      return 'content_filter';
    case 'tool-calls':
      return 'tool_calls';
    case 'stop':
    case 'length':
    case 'error':
    case 'other':
      return reason;
    default:
      return 'other';
  }
}

function usageOf(usage: LanguageModelUsage): ModelResult['usage'] {
  return { input_tokens: usage.inputTokens ?? 0, output_tokens: usage.outputTokens ?? 0 };
}

/** `tokens` lets several registries in one process (tests) share one tokenizer: it costs ~1 s and ~70 MB to build. */
export function createModelRegistry(
  config: ProviderConfig,
  options: { tokens?: TokenCounter } = {},
): ModelRegistry {
  const counter = options.tokens ?? createTokenCounter();
  const models = new Map<string, LanguageModelV3>();
  const secrets = [config.openai?.apiKey, config.anthropic?.apiKey]
    .concat(Object.values(config.compatible).map((c) => c.apiKey))
    .filter((k): k is string => typeof k === 'string' && k.length > 0);
  let openai: ReturnType<typeof createOpenAI> | null = null;
  let anthropic: ReturnType<typeof createAnthropic> | null = null;
  const compatible = new Map<string, ReturnType<typeof createOpenAICompatible>>();

  function kindOf(provider: string): ProviderKind | null {
    if ((BuiltInProviders as readonly string[]).includes(provider)) return provider as ProviderKind;
    return Object.hasOwn(config.compatible, provider) ? 'compatible' : null;
  }

  function parse(model: string): { provider: string; name: string; kind: ProviderKind } {
    const slash = typeof model === 'string' ? model.indexOf('/') : -1;
    const provider = slash > 0 ? model.slice(0, slash) : '';
    const name = slash > 0 ? model.slice(slash + 1) : '';
    if (model.length > MAX_ID_LENGTH || !PROVIDER.test(provider) || !NAME.test(name)) {
      throw new ModelError(
        ModelErrorCodes.unknown_model,
        `Invalid model id ${shown(String(model))}: expected "provider/name", e.g. "openai/gpt-4.1-mini"`,
      );
    }
    const kind = kindOf(provider);
    if (kind === null) {
      const known = [...BuiltInProviders, ...Object.keys(config.compatible)].join(', ');
      // Env names can only spell [a-z0-9_] prefixes, so only those get the how-to hint.
      const hint = /^[a-z0-9_]+$/.test(provider)
        ? ` (an OpenAI-compatible server is added with AIRMY_PROVIDER_${provider.toUpperCase()}_BASE_URL)`
        : '';
      throw new ModelError(
        ModelErrorCodes.unknown_model,
        `Unknown model provider "${provider}" in ${shown(model)}: known providers are ${known}${hint}`,
      );
    }
    return { provider, name, kind };
  }

  function apiKeyFor(kind: ProviderKind): string | undefined {
    if (kind === 'openai') return config.openai?.apiKey;
    if (kind === 'anthropic') return config.anthropic?.apiKey;
    return undefined;
  }

  function configured(kind: ProviderKind): boolean {
    return kind === 'mock' || kind === 'compatible' || apiKeyFor(kind) !== undefined;
  }

  function build(model: string, provider: string, name: string, kind: ProviderKind): LanguageModelV3 {
    switch (kind) {
      case 'mock':
        return createMockModel(name, counter);
      case 'openai':
        // baseURL is always explicit so the adapter never falls back to process.env.
        openai ??= createOpenAI({
          apiKey: config.openai?.apiKey,
          baseURL: config.openai?.baseURL ?? OPENAI_DEFAULT_URL,
        });
        return openai(name);
      case 'anthropic':
        anthropic ??= createAnthropic({
          apiKey: config.anthropic?.apiKey,
          baseURL: config.anthropic?.baseURL ?? ANTHROPIC_DEFAULT_URL,
        });
        return anthropic(name);
      case 'compatible': {
        let factory = compatible.get(provider);
        if (!factory) {
          const endpoint = config.compatible[provider];
          factory = createOpenAICompatible({
            name: provider,
            baseURL: endpoint.baseURL,
            apiKey: endpoint.apiKey,
            // Ask for usage in streams too (stream_options.include_usage); Ollama, vLLM and LM
            // Studio all honour it, and without it a streamed run would report zero tokens.
            includeUsage: true,
          });
          compatible.set(provider, factory);
        }
        return factory.chatModel(name);
      }
      default: {
        const never: never = kind;
        throw new Error(`unhandled provider kind ${String(never)} for ${model}`);
      }
    }
  }

  function resolve(model: string): { provider: string; language: LanguageModelV3 } {
    const { provider, name, kind } = parse(model);
    if (!configured(kind)) {
      const envVar = kind === 'openai' ? 'OPENAI_API_KEY' : 'ANTHROPIC_API_KEY';
      throw new ModelError(
        ModelErrorCodes.provider_not_configured,
        `The ${provider} provider is not configured: set ${envVar} to use ${shown(model)}`,
      );
    }
    let language = models.get(model);
    if (!language) {
      if (models.size >= MODEL_CACHE_LIMIT) models.clear();
      language = build(model, provider, name, kind);
      models.set(model, language);
    }
    return { provider, language };
  }

  async function stream(
    call: ModelCall,
    onDelta: (text: string) => void,
    request: Parameters<typeof streamText>[0],
  ): Promise<ModelResult> {
    // Our own controller, so the upstream request is torn down however we leave the loop.
    const stop = new AbortController();
    const result = streamText({
      ...request,
      abortSignal: AbortSignal.any([call.signal, stop.signal]),
      // Errors arrive as `error` parts below; the default handler would also log them.
      onError: () => {},
    });
    let text = '';
    let usage: ModelResult['usage'] = { input_tokens: 0, output_tokens: 0 };
    let reason = 'other';
    try {
      for await (const part of result.fullStream) {
        switch (part.type) {
          case 'text-delta':
            if (part.text === '') break;
            text += part.text;
            try {
              onDelta(part.text);
            } catch (error) {
              throw new DeltaHandlerError(error);
            }
            break;
          case 'error':
            throw part.error;
          case 'abort':
            throw abortError(call.signal);
          case 'finish':
            usage = usageOf(part.totalUsage);
            reason = finishReason(part.finishReason);
            break;
        }
      }
    } finally {
      stop.abort();
    }
    return { text, usage, finish_reason: reason };
  }

  const registry: ModelRegistry = {
    validate(model) {
      parse(model);
    },

    isConfigured(model) {
      try {
        return configured(parse(model).kind);
      } catch {
        return false;
      }
    },

    async call(call) {
      const { provider, language } = resolve(call.model);
      const params = call.parameters;
      const prompt = userMessage(call.input);
      const settings = callSettings(params);
      const providerOptions =
        provider === 'mock'
          ? ({ mock: mockOptions(params) } as unknown as SharedV3ProviderOptions)
          : undefined;
      if (call.signal.aborted) throw abortError(call.signal);
      try {
        if (!call.onDelta && !call.tools?.length) {
          const result = await generateOnce({
            model: language,
            system: call.instructions || undefined,
            prompt,
            settings,
            providerOptions,
            maxRetries: config.maxRetries,
            signal: call.signal,
          });
          return {
            text: result.text,
            usage: {
              input_tokens: result.usage.inputTokens.total ?? 0,
              output_tokens: result.usage.outputTokens.total ?? 0,
            },
            finish_reason: finishReason(result.finishReason),
          };
        }
        const request = {
          model: language,
          prompt,
          ...(call.instructions ? { system: call.instructions } : {}),
          ...settings,
          maxRetries: config.maxRetries,
          ...(providerOptions ? { providerOptions } : {}),
          ...toolLoopOptions(call),
        };
        if (call.onDelta) return await stream(call, call.onDelta, request);
        const result = await generateText({ ...request, abortSignal: call.signal });
        return {
          // Every step's text, as a streamed call would have delivered it (`text` is the last step's).
          text: result.steps.length > 1 ? result.steps.map((s) => s.text).join('') : result.text,
          usage: usageOf(result.totalUsage),
          finish_reason: finishReason(result.finishReason),
        };
      } catch (error) {
        if (error instanceof DeltaHandlerError) throw error.cause;
        if (call.signal.aborted) throw abortError(call.signal);
        throw toModelError(error, { provider, secrets });
      }
    },

    warmUp() {
      return counter.warmUp();
    },
  };
  return registry;
}

/** Marks an exception thrown by the caller's onDelta, so it is rethrown as is, not as a ModelError. */
class DeltaHandlerError extends Error {
  constructor(cause: unknown) {
    super('onDelta threw', { cause });
    this.name = 'DeltaHandlerError';
  }
}
