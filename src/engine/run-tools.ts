/**
 * The executor's side of tool calling: resolving a run's tools when it starts, keeping the record
 * that ends up in the run's `tool_calls`, and releasing the tools when it ends.
 *
 * Tools are resolved when the run starts, not when it is accepted: a connector deleted in between
 * fails the run with `tool_unavailable` rather than being called anyway. Whatever the resolver
 * throws becomes that code; an ApiError's or ToolError's message is meant to be shown and is kept,
 * any other error's message may carry internals and is replaced.
 */
import { type ToolDefinition, ToolError, type ToolResolver } from '../connectors/tool.ts';
import { ApiError } from '../errors.ts';
import type { RunToolCall } from '../runs/present.ts';
import type { ToolCallInfo, ToolResultInfo } from './providers/index.ts';

/** A recorded tool output larger than this (as JSON) is replaced by a truncated preview. */
const MAX_RECORDED_OUTPUT = 32_768;
const CLOSE_WAIT_MS = 2_000;

/** The run's tools could not be resolved; the run fails with this code. */
export class ToolsUnavailable extends Error {
  readonly code = 'tool_unavailable';
}

export async function resolveRunTools(
  resolve: ToolResolver | undefined,
  orgId: string,
  names: readonly string[] | undefined,
): Promise<ToolDefinition[]> {
  if (!names?.length) return [];
  const list = names.map((n) => JSON.stringify(n)).join(', ');
  if (!resolve)
    throw new ToolsUnavailable(`Tools are not available on this server (the agent lists ${list})`);
  try {
    return await resolve(orgId, names);
  } catch (error) {
    const detail = error instanceof ApiError || error instanceof ToolError ? `: ${error.message}` : '';
    throw new ToolsUnavailable(`The agent's tools (${list}) could not be loaded${detail}`, { cause: error });
  }
}

/**
 * Calls each distinct `close` once; a failing close is not the run's problem, and a slow one (a
 * server that does not answer the session DELETE) is not waited for past CLOSE_WAIT_MS.
 */
export async function closeTools(tools: readonly ToolDefinition[]): Promise<void> {
  const closers = new Set<() => Promise<void>>();
  for (const t of tools) if (t.close) closers.add(t.close);
  if (closers.size === 0) return;
  let timer: NodeJS.Timeout | undefined;
  const bound = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, CLOSE_WAIT_MS);
  });
  const all = Promise.allSettled([...closers].map((close) => close())).then(() => {});
  await Promise.race([all, bound]).finally(() => clearTimeout(timer));
}

function bounded(output: unknown): unknown {
  const json = JSON.stringify(output);
  if (json === undefined || json.length <= MAX_RECORDED_OUTPUT) return output;
  return { truncated: true, preview: json.slice(0, MAX_RECORDED_OUTPUT) };
}

/** The run's tool calls in the order the model made them, each completed by its result. */
export function createToolRecord() {
  const calls: RunToolCall[] = [];
  const byId = new Map<string, RunToolCall>();
  return {
    call(info: ToolCallInfo): ToolCallInfo {
      const entry: RunToolCall = { id: info.id, name: info.name, input: info.input, duration_ms: 0 };
      calls.push(entry);
      byId.set(info.id, entry);
      return { id: info.id, name: info.name, input: info.input };
    },
    result(info: ToolResultInfo): ToolResultInfo {
      const shown: ToolResultInfo = info.error
        ? { id: info.id, name: info.name, error: info.error, duration_ms: info.duration_ms }
        : { id: info.id, name: info.name, output: bounded(info.output), duration_ms: info.duration_ms };
      const entry = byId.get(info.id);
      if (entry) Object.assign(entry, shown);
      return shown;
    },
    /** Run row fields: nothing when no tool was called. */
    fields(): { tool_calls?: string } {
      return calls.length > 0 ? { tool_calls: JSON.stringify(calls) } : {};
    },
  };
}
