import { iso } from '../clock.ts';
import type { PipelineRow, PipelineRunRow } from '../infra/db/schema.ts';
import { traceIdOf } from '../runs/present.ts';
import { presentWebhook } from '../webhooks/target.ts';
import type { PipelineDefinition } from './definition.ts';
import { emptyStep, parseSteps } from './events.ts';

export function toPipeline(row: PipelineRow) {
  const def = JSON.parse(row.definition) as PipelineDefinition;
  return {
    id: row.id,
    object: 'pipeline' as const,
    name: def.name,
    description: def.description ?? null,
    version: row.version,
    input_schema: def.input_schema ?? null,
    steps: def.steps,
    output: def.output ?? null,
    timeout_ms: def.timeout_ms ?? null,
    metadata: def.metadata ?? {},
    webhook: presentWebhook(row.webhook),
    created_at: iso(row.created_at)!,
    updated_at: iso(row.updated_at)!,
  };
}

export function toPipelineRun(row: PipelineRunRow) {
  const def = JSON.parse(row.definition) as PipelineDefinition;
  const steps = parseSteps(row);
  return {
    id: row.id,
    object: 'pipeline_run' as const,
    pipeline_id: row.pipeline_id,
    pipeline_version: row.pipeline_version,
    status: row.status,
    input: JSON.parse(row.input) as unknown,
    output: row.output === null ? null : (JSON.parse(row.output) as unknown),
    steps: def.steps.map((s) => {
      const rec = steps[s.id] ?? emptyStep();
      const error = rec.error ? { code: rec.error.code, message: rec.error.message } : null;
      return {
        id: s.id,
        status: rec.status,
        run_ids: rec.run_ids,
        attempts: rec.attempts,
        output: rec.status === 'completed' ? (rec.output ?? null) : null,
        error,
        started_at: iso(rec.started_at),
        completed_at: iso(rec.completed_at),
      };
    }),
    error: row.error === null ? null : (JSON.parse(row.error) as Record<string, unknown>),
    metadata: JSON.parse(row.metadata) as Record<string, string>,
    tokens_used: row.tokens_used,
    trace_id: traceIdOf(row.trace_context),
    trigger: row.triggered_by ? (JSON.parse(row.triggered_by) as Record<string, unknown>) : { type: 'api' },
    latency_ms: row.completed_at === null ? null : row.completed_at - row.created_at,
    webhook: presentWebhook(row.webhook),
    created_at: iso(row.created_at)!,
    started_at: iso(row.started_at),
    completed_at: iso(row.completed_at),
  };
}
export type PipelineRun = ReturnType<typeof toPipelineRun>;
