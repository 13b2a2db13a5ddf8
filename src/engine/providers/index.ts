/**
 * The model-provider layer: one registry that turns `provider/name` model ids into calls through
 * the Vercel AI SDK, for OpenAI, Anthropic, any OpenAI-compatible server and the built-in offline
 * `mock/*` models. See registry.ts for the call path and mock-model.ts for the mock's knobs.
 */
export {
  BuiltInProviders,
  type CompatibleEndpoint,
  type ProviderConfig,
  type ProviderEndpoint,
  parseProviderEnv,
} from './env.ts';
export { ModelError, type ModelErrorCode, ModelErrorCodes } from './errors.ts';
export { createModelRegistry } from './registry.ts';
export { createTokenCounter, type TokenCounter } from './tokenizer.ts';
export type { ModelCall, ModelRegistry, ModelResult, ToolCallInfo, ToolResultInfo } from './types.ts';
