/**
 * The vocabulary between the pipeline engine and the scheduler: step and run statuses, the state
 * snapshot the engine hands in, and the actions it gets back (see scheduler.ts for the rules).
 * Timestamps are ms since the epoch; the engine converts them for the API.
 */
export const StepStatuses = {
  pending: 'pending',
  running: 'running',
  completed: 'completed',
  failed: 'failed',
  skipped: 'skipped',
  cancelled: 'cancelled',
} as const;
export type StepStatus = (typeof StepStatuses)[keyof typeof StepStatuses];

export const PipelineRunStatuses = {
  queued: 'queued',
  running: 'running',
  completed: 'completed',
  failed: 'failed',
  cancelled: 'cancelled',
} as const;
export type PipelineRunStatus = (typeof PipelineRunStatuses)[keyof typeof PipelineRunStatuses];

export interface StepError {
  code: string;
  message: string;
  /** false: never retried (the scheduler sets it on template errors). */
  retryable?: boolean;
  param?: string;
}

export interface StepState {
  status: StepStatus;
  /** Attempts started so far. */
  attempts: number;
  output?: unknown;
  error?: StepError | null;
  /** ms since epoch; set by a retry action on a pending step. */
  next_attempt_at?: number | null;
}

export interface RunSnapshot {
  status: PipelineRunStatus;
  /** The trigger's input. */
  input: unknown;
  /** Missing entries are `pending` with 0 attempts. */
  steps: Readonly<Record<string, StepState | undefined>>;
}

export interface StartAction {
  step_id: string;
  agent_id: string;
  /** 1 for the first attempt; the engine stores it as the step's `attempts`. */
  attempt: number;
  input: unknown;
  timeout_ms: number | null;
}
export type SkipReason = 'condition_false' | 'upstream_skipped' | 'upstream_failed';
export interface SkipAction {
  step_id: string;
  reason: SkipReason;
  /** The dependency that caused an upstream_* skip. */
  upstream?: string;
}
/** A step the scheduler itself failed (its `when` or input did not render). Final. */
export interface FailAction {
  step_id: string;
  error: StepError;
}
/** Set the step back to pending with next_attempt_at = at. */
export interface RetryAction {
  step_id: string;
  attempt: number;
  at: number;
}
export interface CancelAction {
  step_id: string;
  /** running: abort its agent run first. */
  was: 'pending' | 'running';
}

export type RunOutcome =
  | { status: 'running' /** earliest pending retry, for a delayed wake-up */; wake_at: number | null }
  | { status: 'completed'; output: unknown }
  | { status: 'failed'; error: { step_id: string | null; code: string; message: string } }
  | { status: 'cancelled' };

export interface Decision {
  /** In topological order: an engine bounding parallelism takes a prefix. */
  start: StartAction[];
  skip: SkipAction[];
  fail: FailAction[];
  retry: RetryAction[];
  cancel: CancelAction[];
  run: RunOutcome;
}

export interface ScheduleOptions {
  /** ms since epoch: retry timing, and what `$now()` returns in expressions. */
  now: number;
  /** Start at most this many steps now (the engine's free slots); others stay pending. */
  maxStarts?: number;
  /** Passed to render for each template. */
  renderBudgetMs?: number;
}
