/**
 * A code agent's run: the agent's module in the sandbox (sandbox/pool.ts), and the host side of
 * its small API. Each host call goes where a prompt agent's would:
 *
 * - `ctx.model.generate(req)` / `ctx.model.stream(req)`: the model registry with the agent's model,
 *   instructions and parameters (the request may override `instructions` and the call settings).
 *   Tokens add up on the run; the output guardrails check each reply (a block fails the run, even
 *   if the guest catches it; redactions are what the guest gets); streamed deltas pass the run's
 *   stream guard and go out as `run.output.delta`.
 * - `ctx.tools.call(name, args)`: the run's tools as the connectors resolve them (egress guard and
 *   all); each call is a `run.tool_call` / `run.tool_result` pair and ends up in `tool_calls`. The
 *   run is marked running before the first one (a tool call may have effects: run-executor.ts).
 * - `ctx.log(...)`: a `run.log` event.
 *
 * Failures map to run outcomes in run-executor.ts (`codeFailure`).
 */
import type { Config } from '../config.ts';
import { type ToolDefinition, ToolError } from '../connectors/tool.ts';
import type { CompiledPolicy } from '../guardrails/compile.ts';
import type { RunRow } from '../infra/db/schema.ts';
import type { RunConfig } from '../runs/present.ts';
import { ModelError, type ModelRegistry, type ToolCallInfo, type ToolResultInfo } from './providers/index.ts';
import { resolveLimits } from './sandbox/limits.ts';
import { HostCallError, type SandboxPool } from './sandbox/pool.ts';
import type { HostCallKind } from './sandbox/protocol.ts';

const CALL_SETTINGS = ['temperature', 'top_p', 'max_output_tokens', 'stop'] as const;

export interface CodeRunDeps {
  sandbox: SandboxPool;
  models: ModelRegistry;
  sandboxConfig: Config['sandbox'];
}

export interface CodeRunHooks {
  run: RunRow;
  config: RunConfig;
  input: Record<string, unknown>;
  signal: AbortSignal;
  policy: CompiledPolicy | null;
  /** the run's tools, resolved on the first ctx.tools.call (after `beforeTool`) */
  tools: () => Promise<ToolDefinition[]>;
  beforeTool: () => Promise<void>;
  /** a streamed delta (the executor passes it through the stream guard) */
  onDelta: (text: string) => void;
  onToolCall: (call: ToolCallInfo) => void;
  onToolResult: (result: ToolResultInfo) => void;
  onLog: (message: string) => void;
}

/** A host call failure the guest must not be able to swallow: the run fails with it. */
export class CodeRunFatal extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.code = code;
  }
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export async function runCode(deps: CodeRunDeps, hooks: CodeRunHooks) {
  const { config, run, policy } = hooks;
  const usage = { input_tokens: 0, output_tokens: 0 };
  let fatal: CodeRunFatal | null = null;
  let tools: ToolDefinition[] | null = null;
  let toolSeq = 0;
  let streamed = '';

  async function model(kind: 'model.generate' | 'model.stream', payload: unknown) {
    if (!config.model)
      throw new HostCallError('no_model', 'This agent has no `model`: set one to use ctx.model');
    const req = isRecord(payload) ? payload : {};
    const given = req.input ?? req.prompt;
    const input =
      typeof given === 'string'
        ? { query: given }
        : isRecord(given)
          ? given
          : { query: JSON.stringify(given ?? '') };
    const parameters = { ...config.parameters };
    if (isRecord(req.parameters))
      for (const k of CALL_SETTINGS) if (req.parameters[k] !== undefined) parameters[k] = req.parameters[k];
    const instructions = typeof req.instructions === 'string' ? req.instructions : config.instructions;
    try {
      const result = await deps.models.call({
        model: config.model,
        instructions,
        input,
        parameters,
        signal: hooks.signal,
        onDelta:
          kind === 'model.stream'
            ? (text) => {
                streamed += text;
                hooks.onDelta(text);
              }
            : undefined,
      });
      usage.input_tokens += result.usage.input_tokens;
      usage.output_tokens += result.usage.output_tokens;
      let text = result.text;
      if (policy) {
        const checked = policy.check(text, 'output');
        if (checked.blocked) {
          fatal ??= new CodeRunFatal(
            'guardrail_blocked',
            `A model reply was blocked by guardrail rule '${checked.blocked.rule}': ${checked.blocked.message}`,
          );
          throw new HostCallError('guardrail_blocked', fatal.message);
        }
        text = checked.text;
      }
      return { text, usage: result.usage, finish_reason: result.finish_reason };
    } catch (error) {
      if (error instanceof HostCallError || hooks.signal.aborted) throw error;
      if (error instanceof ModelError) throw new HostCallError(error.code, error.message);
      throw error;
    }
  }

  async function tool(payload: unknown) {
    const req = isRecord(payload) ? payload : {};
    const name = typeof req.name === 'string' ? req.name : '';
    if (tools === null) {
      await hooks.beforeTool();
      tools = await hooks.tools();
    }
    const def = tools.find((t) => t.name === name);
    if (!def) {
      const known = tools.map((t) => JSON.stringify(t.name)).join(', ') || 'none';
      throw new HostCallError(
        'unknown_tool',
        `No tool named ${JSON.stringify(name)} (this agent's tools: ${known})`,
      );
    }
    const id = `call_${++toolSeq}`;
    const args = req.args ?? {};
    hooks.onToolCall({ id, name, input: args });
    const start = performance.now();
    const duration = () => Math.max(0, Math.round(performance.now() - start));
    try {
      const output = (await def.execute(args, { signal: hooks.signal })) ?? null;
      hooks.onToolResult({ id, name, output, duration_ms: duration() });
      return output;
    } catch (error) {
      if (hooks.signal.aborted) throw error;
      const body =
        error instanceof ToolError
          ? { code: error.code, message: error.message }
          : { code: 'tool_failed', message: 'The tool failed unexpectedly' };
      hooks.onToolResult({ id, name, error: body, duration_ms: duration() });
      throw new HostCallError(body.code, body.message);
    }
  }

  const result = await deps.sandbox
    .run({
      code: config.code!,
      input: hooks.input,
      run: {
        id: run.id,
        agent_id: run.agent_id,
        deployment_id: run.deployment_id,
        agent_version: config.agent_version,
        attempt: run.attempt + 1,
        metadata: JSON.parse(run.metadata) as Record<string, string>,
      },
      limits: resolveLimits(config.code_limits, deps.sandboxConfig),
      signal: hooks.signal,
      host: {
        call: (kind: HostCallKind, payload: unknown) => {
          if (fatal) return Promise.reject(new HostCallError(fatal.code, fatal.message));
          switch (kind) {
            case 'model.generate':
            case 'model.stream':
              return model(kind, payload);
            case 'tools.call':
              return tool(payload);
            default: {
              const never: never = kind;
              return Promise.reject(
                new HostCallError('unknown_host_call', `Unknown host call ${String(never)}`),
              );
            }
          }
        },
        log: (message) => hooks.onLog(message),
      },
    })
    .catch((error) => {
      if (fatal && !hooks.signal.aborted) throw fatal;
      throw error;
    });
  if (fatal) throw fatal;
  return { output: result.output, usage, streamed, cpu_ms: result.cpu_ms, host_calls: result.host_calls };
}
