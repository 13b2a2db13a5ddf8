/**
 * The tool loop's settings for one model call: our ToolDefinitions as AI SDK tools, the step bound
 * and the reporting hooks.
 *
 * Step bound: `max_tool_steps` steps may call tools; the step after them is offered the tools
 * with tool choice `none`, so the model has to answer in text instead of the loop just stopping
 * with nothing to show (a model that keeps calling tools still ends with an answer).
 *
 * Failures never end the call: a ToolError reaches the model as `{error: {code, message}}`, any
 * other throw as a generic `tool_failed` (its message may carry internals), and a call the SDK
 * refuses before executing anything (an unknown tool name, input that is not JSON) is reported
 * through the same hooks from the step's `tool-error` parts. Only an aborted signal propagates,
 * so cancel and timeout stop the loop at once.
 */
import { jsonSchema, type StepResult, stepCountIs, type ToolSet, tool } from 'ai';
import { ToolError } from '../../connectors/tool.ts';
import { toolSteps } from './parameters.ts';
import type { ModelCall, ToolResultInfo } from './types.ts';

type ToolErrorBody = NonNullable<ToolResultInfo['error']>;

function errorBody(error: unknown): ToolErrorBody {
  if (error instanceof ToolError) return { code: error.code, message: error.message };
  return { code: 'tool_failed', message: 'The tool failed unexpectedly' };
}

function elapsed(start: number): number {
  return Math.max(0, Math.round(performance.now() - start));
}

/** A tool that ignores its signal must not hold a cancelled or timed-out run: stop waiting for it. */
function untilAborted<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  let onAbort: () => void = () => {};
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
  });
  return Promise.race([work, aborted]).finally(() => signal.removeEventListener('abort', onAbort));
}

/** The generateText / streamText options that add the tool loop, or `{}` when the call has no tools. */
export function toolLoopOptions(call: ModelCall) {
  if (!call.tools?.length) return {};
  const maxToolSteps = toolSteps(call.parameters);
  const reported = new Set<string>();
  const tools: ToolSet = {};
  for (const def of call.tools) {
    tools[def.name] = tool({
      description: def.description,
      // No validate function: the tool checks its own input and answers with a ToolError the
      // model can act on, which beats the SDK's generic schema failure.
      inputSchema: jsonSchema(def.inputSchema as Parameters<typeof jsonSchema>[0]),
      execute: async (input: unknown, options) => {
        const id = options.toolCallId;
        const signal = options.abortSignal ?? call.signal;
        reported.add(id);
        call.onToolCall?.({ id, name: def.name, input });
        const start = performance.now();
        try {
          const output = (await untilAborted(def.execute(input, { signal }), signal)) ?? null;
          call.onToolResult?.({ id, name: def.name, output, duration_ms: elapsed(start) });
          return output;
        } catch (error) {
          if (signal.aborted) throw error;
          const body = errorBody(error);
          call.onToolResult?.({ id, name: def.name, error: body, duration_ms: elapsed(start) });
          return { error: body };
        }
      },
    });
  }
  return {
    tools,
    stopWhen: stepCountIs(maxToolSteps + 1),
    prepareStep: ({ stepNumber }: { stepNumber: number }) =>
      stepNumber >= maxToolSteps ? { toolChoice: 'none' as const } : undefined,
    onStepFinish: (step: StepResult<ToolSet>) => {
      for (const part of step.content) {
        if (part.type !== 'tool-error' || reported.has(part.toolCallId)) continue;
        reported.add(part.toolCallId);
        call.onToolCall?.({ id: part.toolCallId, name: part.toolName, input: part.input });
        const message = part.error instanceof Error ? part.error.message : String(part.error);
        call.onToolResult?.({
          id: part.toolCallId,
          name: part.toolName,
          error: { code: 'invalid_tool_call', message: message.slice(0, 500) },
          duration_ms: 0,
        });
      }
    },
  };
}
