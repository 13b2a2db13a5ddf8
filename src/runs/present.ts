import { iso } from '../clock.ts';
import type { CodeLimits } from '../engine/sandbox/limits.ts';
import type { GuardrailSnapshot } from '../guardrails/service.ts';
import type { Hit } from '../guardrails/types.ts';
import type { RunRow } from '../infra/db/schema.ts';
import { presentWebhook } from '../webhooks/target.ts';
import { isTerminalEvent, type RunEvent } from './events.ts';

/** What a run is executed with: the agent's configuration as it was when the run was accepted. */
export interface RunConfig {
  model: string;
  instructions: string | null;
  parameters: Record<string, unknown>;
  tools: string[];
  guardrails: string | null;
  agent_version: number;
  stream: boolean;
  /** the guardrail policy (version) in force when the run was accepted; absent: no guardrails */
  guardrail_policy?: GuardrailSnapshot;
  /** a code agent's module (src/engine/code-run.ts); `model` may then be '' (none) */
  code?: string;
  /** its per-run limits as the agent set them (resolved against the maxima when the run starts) */
  code_limits?: CodeLimits;
}

/** One entry of a run's `tool_calls`: `output` when the tool succeeded, `error` when it failed. */
export interface RunToolCall {
  id: string;
  name: string;
  input: unknown;
  output?: unknown;
  error?: { code: string; message: string };
  duration_ms: number;
}

/** The trace id of a stored W3C `traceparent` (`00-<trace id>-<span id>-<flags>`); null: none. */
export function traceIdOf(traceparent: string | null | undefined): string | null {
  return traceparent ? traceparent.slice(3, 35) : null;
}

export function toRun(row: RunRow) {
  const input = row.input_tokens ?? 0;
  const output = row.output_tokens ?? 0;
  return {
    id: row.id,
    object: 'run' as const,
    agent_id: row.agent_id,
    deployment_id: row.deployment_id,
    status: row.status,
    model: row.model,
    input: JSON.parse(row.input) as Record<string, unknown>,
    output: row.output === null ? null : (JSON.parse(row.output) as Record<string, unknown>),
    error:
      row.error === null
        ? null
        : (JSON.parse(row.error) as { code: string; message: string; stack?: string }),
    latency_ms: row.latency_ms,
    tokens_used: input + output,
    usage: { input_tokens: input, output_tokens: output },
    metadata: JSON.parse(row.metadata) as Record<string, string>,
    pipeline_run_id: row.pipeline_run_id,
    step_id: row.step_id,
    tool_calls: row.tool_calls ? (JSON.parse(row.tool_calls) as RunToolCall[]) : [],
    guardrails: row.guardrail_hits ? (JSON.parse(row.guardrail_hits) as Hit[]) : [],
    webhook: presentWebhook(row.webhook),
    trace_id: traceIdOf(row.trace_context),
    created_at: iso(row.created_at)!,
    started_at: iso(row.started_at),
    completed_at: iso(row.completed_at),
  };
}
export type Run = ReturnType<typeof toRun>;

/**
 * Created and terminal events carry the run, but are stored without it when the row can give it
 * back (the run's largest copies: input and output, twice per run):
 * - a terminal event's run is the final row, which never changes again;
 * - a created event's run is the row as accepted: the fields execution fills in are all empty
 *   then. Not so for input guardrail hits (output hits are added to them later), so a run
 *   accepted with hits keeps its created event whole.
 * Events stored with their run (all of them before this) are read back as they are.
 */
export function storedEventData(event: RunEvent, row: RunRow): string {
  const rebuilt = isTerminalEvent(event.type) || (event.type === 'run.created' && row.guardrail_hits == null);
  if (!rebuilt || event.run === undefined) return JSON.stringify(event);
  const { run: _run, ...rest } = event;
  return JSON.stringify(rest);
}

/** The stored event with its run put back from `row` (for a terminal event, the final row). */
export function restoreRun(event: RunEvent, row: RunRow): RunEvent {
  if (event.run !== undefined) return event;
  if (isTerminalEvent(event.type)) return { ...event, run: toRun(row) };
  if (event.type !== 'run.created') return event;
  const accepted: RunRow = {
    ...row,
    status: 'queued',
    output: null,
    error: null,
    latency_ms: null,
    input_tokens: null,
    output_tokens: null,
    tool_calls: null,
    guardrail_hits: null,
    started_at: null,
    completed_at: null,
  };
  return { ...event, run: toRun(accepted) };
}

/** Whether an event needs `restoreRun`. */
export const lacksRun = (event: RunEvent) =>
  event.run === undefined && (event.type === 'run.created' || isTerminalEvent(event.type));
