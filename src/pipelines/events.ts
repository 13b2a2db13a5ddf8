/**
 * A pipeline run's records and events: the step record kept per step in the `pipeline_runs` row,
 * the run statuses, and the event vocabulary that SSE, the bus and `pipeline_run_events` share.
 * Every event carries `type` and a per-run `sequence_number` (the SSE id).
 */
import { iso } from '../clock.ts';
import type { PipelineRunEventRow, PipelineRunRow } from '../infra/db/schema.ts';
import { type StepState, StepStatuses } from './scheduler.ts';

export interface StepRecord extends StepState {
  /** every run started for this step, oldest first */
  run_ids: string[];
  /** the run of the current (or last) attempt */
  run_id: string | null;
  started_at: number | null;
  completed_at: number | null;
}

export const PipelineRunStatusList = [
  'queued',
  'running',
  'completed',
  'failed',
  'cancelled',
  'timed_out',
] as const;
export const isPipelineTerminal = (s: string) =>
  s === 'completed' || s === 'failed' || s === 'cancelled' || s === 'timed_out';

export const PipelineEventTypes = [
  'pipeline.created',
  'pipeline.started',
  'pipeline.step.started',
  'pipeline.step.completed',
  'pipeline.step.failed',
  'pipeline.step.retry_scheduled',
  'pipeline.step.skipped',
  'pipeline.step.cancelled',
  'pipeline.completed',
  'pipeline.failed',
  'pipeline.cancelled',
  'pipeline.timed_out',
] as const;
export type PipelineEventType = (typeof PipelineEventTypes)[number];
export const isPipelineTerminalEvent = (type: string) =>
  type === 'pipeline.completed' ||
  type === 'pipeline.failed' ||
  type === 'pipeline.cancelled' ||
  type === 'pipeline.timed_out';

export interface PipelineEvent {
  type: PipelineEventType;
  sequence_number: number;
  pipeline_run_id: string;
  created_at: string;
  step_id?: string;
  run_id?: string;
  attempt?: number;
  output?: unknown;
  error?: unknown;
  reason?: string;
  upstream?: string;
  retry_at?: string;
  /** created and terminal events carry the pipeline run as it stands */
  pipeline_run?: unknown;
}
export type EventDraft = Omit<PipelineEvent, 'sequence_number' | 'pipeline_run_id' | 'created_at'>;

export const pipelineRunTopic = (id: string) => `prun:${id}`;

export function eventRow(id: string, seq: number, at: number, draft: EventDraft): PipelineRunEventRow {
  const event: PipelineEvent = {
    ...draft,
    sequence_number: seq,
    pipeline_run_id: id,
    created_at: iso(at)!,
  };
  return { pipeline_run_id: id, seq, type: draft.type, data: JSON.stringify(event), created_at: at };
}

export function parseSteps(row: PipelineRunRow): Record<string, StepRecord> {
  return JSON.parse(row.steps) as Record<string, StepRecord>;
}

export function emptyStep(): StepRecord {
  return {
    status: StepStatuses.pending,
    attempts: 0,
    run_ids: [],
    run_id: null,
    output: null,
    error: null,
    started_at: null,
    completed_at: null,
  };
}
