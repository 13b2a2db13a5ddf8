/** The contract between the run engine and the model-provider layer. */

export interface ModelCall {
  /** `provider/name`: 'mock/echo', 'openai/gpt-4.1-mini', 'anthropic/claude-sonnet-4-5', 'ollama/llama3.2' */
  model: string;
  /** system prompt */
  instructions: string | null;
  /** the run input; the user message is input.query ?? input.prompt ?? input.message (if a string), else its JSON */
  input: Record<string, unknown>;
  /** temperature, top_p, max_output_tokens, stop, and mock_reply / mock_latency_ms / mock_chunk_size / mock_error */
  parameters: Record<string, unknown>;
  /** aborting stops the upstream call and rejects with an error named 'AbortError' */
  signal: AbortSignal;
  /** when given, the reply is streamed and this is called with each text chunk in order */
  onDelta?: (text: string) => void;
}

export interface ModelResult {
  text: string;
  usage: { input_tokens: number; output_tokens: number };
  /** stop | length | content_filter | tool_calls | error | other */
  finish_reason: string;
}

export interface ModelRegistry {
  /** Throws ModelError `unknown_model` for a malformed id or a provider prefix nobody configured. */
  validate(model: string): void;
  /** Whether the provider has what it needs to be called (false for an invalid id). */
  isConfigured(model: string): boolean;
  call(call: ModelCall): Promise<ModelResult>;
  /** Builds the mock tokenizer now (about a second of CPU) instead of on the first mock call. */
  warmUp(): Promise<void>;
}
