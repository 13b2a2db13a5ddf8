/** The contract between the run engine and the model-provider layer. */
import type { ToolDefinition } from '../../connectors/tool.ts';

/** A tool call the model made, as the engine reports it. */
export interface ToolCallInfo {
  id: string;
  name: string;
  input: unknown;
}

/** How a tool call ended: `output` when it succeeded, `error` when it failed (the model saw the error). */
export interface ToolResultInfo {
  id: string;
  name: string;
  output?: unknown;
  error?: { code: string; message: string };
  duration_ms: number;
}

export interface ModelCall {
  /** `provider/name`: 'mock/echo', 'openai/gpt-4.1-mini', 'anthropic/claude-sonnet-4-5', 'ollama/llama3.2' */
  model: string;
  /** system prompt */
  instructions: string | null;
  /** the run input; the user message is input.query ?? input.prompt ?? input.message (if a string), else its JSON */
  input: Record<string, unknown>;
  /** temperature, top_p, max_output_tokens, stop, and mock_reply / mock_latency_ms / mock_chunk_size / mock_error / mock_error_rate */
  parameters: Record<string, unknown>;
  /** aborting stops the upstream call and rejects with an error named 'AbortError' */
  signal: AbortSignal;
  /** when given, the reply is streamed and this is called with each text chunk in order */
  onDelta?: (text: string) => void;
  /**
   * Tools the model may call. The call then runs the tool loop: at most `parameters.max_tool_steps`
   * (default 8, at most 20) steps may call tools, then the model must answer in text. A tool that
   * throws does not fail the call: the model gets `{error: {code, message}}` as the tool's result.
   */
  tools?: readonly ToolDefinition[];
  /** a tool call is about to run */
  onToolCall?: (call: ToolCallInfo) => void;
  /** a tool call ended (also for calls the SDK refused: unknown tool, unparseable input) */
  onToolResult?: (result: ToolResultInfo) => void;
}

export interface ModelResult {
  text: string;
  /** summed over every step of a tool loop */
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
