import { iso } from '../clock.ts';
import type { GuardrailSnapshot } from '../guardrails/service.ts';
import type { Hit } from '../guardrails/types.ts';
import type { RunRow } from '../infra/db/schema.ts';

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
    error: row.error === null ? null : (JSON.parse(row.error) as { code: string; message: string }),
    latency_ms: row.latency_ms,
    tokens_used: input + output,
    usage: { input_tokens: input, output_tokens: output },
    metadata: JSON.parse(row.metadata) as Record<string, string>,
    pipeline_run_id: row.pipeline_run_id,
    step_id: row.step_id,
    tool_calls: row.tool_calls ? (JSON.parse(row.tool_calls) as RunToolCall[]) : [],
    guardrails: row.guardrail_hits ? (JSON.parse(row.guardrail_hits) as Hit[]) : [],
    created_at: iso(row.created_at)!,
    started_at: iso(row.started_at),
    completed_at: iso(row.completed_at),
  };
}
export type Run = ReturnType<typeof toRun>;
