import Type from 'typebox';
import { Metadata, NullableTimestamp, Timestamp } from '../http/schemas.ts';

const cron = Type.String({
  minLength: 9,
  maxLength: 120,
  description:
    'Five-field cron (minute hour day-of-month month day-of-week), e.g. `0 9 * * 1-5`; Vixie cron DST rules',
});
const timezone = Type.String({
  minLength: 1,
  maxLength: 64,
  description: 'IANA time zone the cron is read in (default `UTC`), e.g. `Europe/Berlin`',
});
const input = Type.Unknown({
  description: 'The input of every run it triggers; checked against the pipeline’s input_schema',
});
const enabled = Type.Boolean({ description: 'false pauses it; resuming never fires the ticks of the pause' });

export const CreateSchedule = Type.Object(
  {
    cron,
    timezone: Type.Optional(timezone),
    input: Type.Optional(input),
    metadata: Type.Optional(Metadata),
    enabled: Type.Optional(enabled),
  },
  { additionalProperties: false },
);

export const UpdateSchedule = Type.Object(
  {
    cron: Type.Optional(cron),
    timezone: Type.Optional(timezone),
    input: Type.Optional(input),
    metadata: Type.Optional(Metadata),
    enabled: Type.Optional(enabled),
  },
  { additionalProperties: false, minProperties: 1 },
);

export const ScheduleParams = Type.Object(
  {
    id: Type.String({ minLength: 1, maxLength: 64 }),
    schedule_id: Type.String({ minLength: 1, maxLength: 64 }),
  },
  { additionalProperties: false },
);

export const Schedule = Type.Object(
  {
    id: Type.String(),
    object: Type.Literal('pipeline_schedule'),
    pipeline_id: Type.String(),
    cron: Type.String(),
    timezone: Type.String(),
    input: Type.Unknown(),
    metadata: Type.Record(Type.String(), Type.String()),
    enabled: Type.Boolean(),
    paused_reason: Type.Union([Type.Literal('api_key_revoked'), Type.Null()], {
      description: 'Why the schedule paused itself (its key was revoked); null when you paused it or it runs',
    }),
    next_run_at: Type.Union([Timestamp, Type.Null()], { description: 'The next tick; null while paused' }),
    last_runs: Type.Array(
      Type.Object({
        scheduled_for: Timestamp,
        pipeline_run_id: Type.Union([Type.String(), Type.Null()]),
        error: Type.Union([Type.Object({ code: Type.String(), message: Type.String() }), Type.Null()]),
        fired_at: Timestamp,
      }),
      { description: 'The latest ticks (up to 5), newest first' },
    ),
    created_at: Timestamp,
    updated_at: NullableTimestamp,
  },
  { $id: 'PipelineSchedule' },
);

export const DeletedSchedule = Type.Object({
  id: Type.String(),
  object: Type.Literal('pipeline_schedule'),
  deleted: Type.Boolean(),
});
