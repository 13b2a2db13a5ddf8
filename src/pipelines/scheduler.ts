/**
 * The orchestration decision, as a function of state: given a compiled pipeline, the run's step
 * states and `now`, what should happen next. No I/O and no clock of its own: a durable engine
 * calls it after every step transition (inside the transaction that recorded the transition),
 * applies the actions, and calls again after the next transition or at `wake_at`. Same inputs,
 * same decision — with the one caveat that expressions are time-bounded, so an expression that
 * runs close to its bound may succeed on one machine and time out on another.
 *
 * Step lifecycle (the engine writes these; the scheduler only reads them):
 *   pending ─start→ running ─→ completed | failed | cancelled
 *   failed with attempts left ─retry→ pending (next_attempt_at) ─start→ running …
 *   pending ─skip→ skipped      pending | running ─cancel→ cancelled
 * A `failed` step is final once attempts reach retry.max_attempts or its error says
 * `retryable: false` (template errors). A `cancelled` step on a live run counts as a final failure.
 *
 * Skip / continue rule. A pending step waits until every dependency is settled (completed,
 * skipped, or finally failed/cancelled under on_failure "continue"; a final failure under "fail"
 * fails the pipeline instead). Then:
 *   - every dependency completed: run it if it has no `when` or its `when` is truthy, else skip;
 *   - some dependency skipped or failed: skip it — unless it has its own `when`, which then
 *     decides alone (it can read `steps.<dep>.status` to choose). So a `when` is how a join opts
 *     in to running after a partial upstream; without one, skips propagate down the graph.
 * Failing fast: once a step fails finally under "fail", nothing new starts, running steps are to
 * be cancelled and pending ones marked cancelled; the run fails with that step's error (the first
 * such step in topological order, preferring `failed` over `cancelled`).
 */
import type { CompiledPipeline, CompiledStep, RetryPolicy } from './definition.ts';
import { OnFailure } from './definition.ts';
import {
  type CancelAction,
  type Decision,
  PipelineRunStatuses,
  type RunSnapshot,
  type ScheduleOptions,
  type StepError,
  type StepState,
  StepStatuses,
} from './run-state.ts';
import { evaluateCondition, type RenderContext, render, TemplateError } from './template.ts';

export * from './run-state.ts';

/** Delay before attempt n+1 after n failed attempts: backoff_ms · multiplier^(n-1), capped. */
export function retryDelay(retry: RetryPolicy, failedAttempts: number): number {
  const raw = retry.backoff_ms * retry.backoff_multiplier ** Math.max(0, failedAttempts - 1);
  return Math.round(Math.min(retry.max_backoff_ms, raw));
}

const PENDING: StepState = { status: StepStatuses.pending, attempts: 0 };

function isFinalFailure(step: CompiledStep, state: StepState): boolean {
  if (state.status === StepStatuses.cancelled) return true;
  return (
    state.status === StepStatuses.failed &&
    (state.attempts >= step.def.retry.max_attempts || state.error?.retryable === false)
  );
}

function isSettled(step: CompiledStep, state: StepState): boolean {
  return (
    state.status === StepStatuses.completed ||
    state.status === StepStatuses.skipped ||
    isFinalFailure(step, state)
  );
}

/** The step that fails the run: first in order, a real failure before a cancellation. */
function fatalStep(plan: CompiledPipeline, work: Map<string, StepState>): string | null {
  const fatal = plan.order.filter((id) => {
    const step = plan.steps.get(id) as CompiledStep;
    return step.def.on_failure === OnFailure.fail && isFinalFailure(step, work.get(id) as StepState);
  });
  return fatal.find((id) => work.get(id)?.status === StepStatuses.failed) ?? fatal[0] ?? null;
}

function contextFor(input: unknown, ids: Iterable<string>, work: Map<string, StepState>): RenderContext {
  const steps: RenderContext['steps'] = {};
  for (const id of ids) {
    const state = work.get(id) as StepState;
    steps[id] = {
      status: state.status,
      output: state.status === StepStatuses.completed ? (state.output ?? null) : null,
      error: state.error ? { code: state.error.code, message: state.error.message } : null,
    };
  }
  return { input, steps };
}

const asStepError = (error: TemplateError): StepError => ({
  code: error.code,
  message: error.message,
  param: error.param,
  retryable: false,
});

function cancellations(plan: CompiledPipeline, work: Map<string, StepState>): CancelAction[] {
  return plan.order.flatMap((id): CancelAction[] => {
    const status = work.get(id)?.status;
    return status === StepStatuses.running || status === StepStatuses.pending
      ? [{ step_id: id, was: status }]
      : [];
  });
}

/** Decides the next actions for one pipeline run. Deterministic for given inputs. */
export async function schedule(
  plan: CompiledPipeline,
  run: RunSnapshot,
  options: ScheduleOptions,
): Promise<Decision> {
  const { now } = options;
  const maxStarts = options.maxStarts ?? Number.POSITIVE_INFINITY;
  const renderOptions = { now, budgetMs: options.renderBudgetMs };
  const work = new Map(plan.order.map((id) => [id, { ...PENDING, ...run.steps[id] }]));
  const decision: Decision = {
    start: [],
    skip: [],
    fail: [],
    retry: [],
    cancel: [],
    run: { status: 'running', wake_at: null },
  };

  const failRun = (
    stepId: string | null,
    error: StepError | null | undefined,
    fallback: string,
  ): Decision => {
    decision.cancel = cancellations(plan, work);
    const code = error?.code ?? fallback;
    decision.run = {
      status: 'failed',
      error: {
        step_id: stepId,
        code,
        message:
          error?.message ?? `Step ${stepId} ${fallback === 'step_cancelled' ? 'was cancelled' : 'failed'}`,
      },
    };
    return decision;
  };

  if (run.status === PipelineRunStatuses.cancelled) {
    decision.cancel = cancellations(plan, work);
    decision.run = { status: 'cancelled' };
    return decision;
  }
  const already = fatalStep(plan, work);
  if (already) {
    const state = work.get(already) as StepState;
    return failRun(
      already,
      state.error,
      state.status === StepStatuses.cancelled ? 'step_cancelled' : 'step_failed',
    );
  }

  const start = async (step: CompiledStep, attempt: number) => {
    if (decision.start.length >= maxStarts) return;
    try {
      const input = await render(step.input, contextFor(run.input, step.ancestors, work), renderOptions);
      decision.start.push({
        step_id: step.def.id,
        agent_id: step.def.agent_id,
        attempt,
        input,
        timeout_ms: step.def.timeout_ms ?? null,
      });
      work.set(step.def.id, {
        ...(work.get(step.def.id) as StepState),
        status: StepStatuses.running,
        attempts: attempt,
        next_attempt_at: null,
      });
    } catch (error) {
      if (!(error instanceof TemplateError)) throw error;
      decision.fail.push({ step_id: step.def.id, error: asStepError(error) });
      work.set(step.def.id, {
        ...(work.get(step.def.id) as StepState),
        status: StepStatuses.failed,
        error: asStepError(error),
      });
    }
  };

  for (const id of plan.order) {
    const step = plan.steps.get(id) as CompiledStep;
    const state = work.get(id) as StepState;
    if (state.status === StepStatuses.failed && !isFinalFailure(step, state)) {
      const at = now + retryDelay(step.def.retry, state.attempts);
      if (at <= now) {
        await start(step, state.attempts + 1);
      } else {
        decision.retry.push({ step_id: id, attempt: state.attempts + 1, at });
        work.set(id, { ...state, status: StepStatuses.pending, next_attempt_at: at });
      }
      continue;
    }
    if (state.status !== StepStatuses.pending) continue;
    if (state.attempts > 0) {
      // Waiting to retry: its dependencies and `when` were settled before the first attempt.
      if ((state.next_attempt_at ?? 0) <= now) await start(step, state.attempts + 1);
      continue;
    }
    const deps = step.def.depends_on.map((dep) => ({
      id: dep,
      step: plan.steps.get(dep) as CompiledStep,
      state: work.get(dep) as StepState,
    }));
    if (!deps.every((dep) => isSettled(dep.step, dep.state))) continue;
    const blocked = deps.find((dep) => dep.state.status !== StepStatuses.completed);
    if (blocked && !step.when) {
      const reason = blocked.state.status === StepStatuses.skipped ? 'upstream_skipped' : 'upstream_failed';
      decision.skip.push({ step_id: id, reason, upstream: blocked.id });
      work.set(id, { ...state, status: StepStatuses.skipped });
      continue;
    }
    if (step.when) {
      let go: boolean;
      try {
        go = await evaluateCondition(step.when, contextFor(run.input, step.ancestors, work), renderOptions);
      } catch (error) {
        if (!(error instanceof TemplateError)) throw error;
        decision.fail.push({ step_id: id, error: asStepError(error) });
        work.set(id, { ...state, status: StepStatuses.failed, error: asStepError(error) });
        continue;
      }
      if (!go) {
        decision.skip.push({ step_id: id, reason: 'condition_false' });
        work.set(id, { ...state, status: StepStatuses.skipped });
        continue;
      }
    }
    await start(step, 1);
  }

  const fatal = fatalStep(plan, work);
  if (fatal) {
    // Nothing starts or retries on a failing run: undo those decisions, then cancel what is live.
    for (const action of [...decision.start, ...decision.retry])
      work.set(action.step_id, { ...PENDING, ...run.steps[action.step_id] });
    decision.start = [];
    decision.retry = [];
    const state = work.get(fatal) as StepState;
    return failRun(fatal, state.error, 'step_failed');
  }
  if (![...work].every(([id, state]) => isSettled(plan.steps.get(id) as CompiledStep, state))) {
    const waits = [...work.values()].filter(
      (s) => s.status === StepStatuses.pending && (s.next_attempt_at ?? 0) > now,
    );
    decision.run = {
      status: 'running',
      wake_at: waits.length ? Math.min(...waits.map((s) => s.next_attempt_at as number)) : null,
    };
    return decision;
  }
  const context = contextFor(run.input, plan.order, work);
  if (!plan.output) {
    decision.run = {
      status: 'completed',
      output: Object.fromEntries(plan.sinks.map((id) => [id, context.steps[id].output])),
    };
    return decision;
  }
  try {
    decision.run = { status: 'completed', output: await render(plan.output, context, renderOptions) };
  } catch (error) {
    if (!(error instanceof TemplateError)) throw error;
    decision.run = { status: 'failed', error: { step_id: null, code: error.code, message: error.message } };
  }
  return decision;
}
