/**
 * What a connector gives a run: tools the model may call. The engine turns each into an AI SDK tool;
 * the connectors resource builds them (built-ins, http endpoints, an MCP server's tools).
 */
export interface ToolDefinition {
  /** The name the model sees and calls (letters, digits, `_` and `-`; unique within a run). */
  name: string;
  description: string;
  /** JSON Schema (an object schema) of the tool's input. */
  inputSchema: Record<string, unknown>;
  /** Calls the tool. Throws a ToolError for a failure the model should see as the tool's result. */
  execute(input: unknown, ctx: { signal: AbortSignal }): Promise<unknown>;
  /**
   * Releases what the tool holds open (an MCP client session). The run engine calls it once per
   * distinct function when the run ends, however it ends; tools that share a connection share it.
   */
  close?: () => Promise<void>;
}

/** A tool failure worth telling the model about (bad input, upstream 4xx/5xx, refused egress). */
export class ToolError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.code = code;
  }
}

/**
 * Resolves an agent's `tools` (built-in names or connector ids) into callable tools for one run.
 * Unknown or deleted connectors are a ToolError-free failure of the run: the caller maps it.
 */
export type ToolResolver = (orgId: string, names: readonly string[]) => Promise<ToolDefinition[]>;
