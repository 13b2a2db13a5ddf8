/**
 * The spans of one run execution (src/engine/run-executor.ts), when tracing is on:
 *
 *   airmy.run                    child of the request (or pipeline trigger) stored on the run row
 *   ├── airmy.run.queue_wait     created → started
 *   └── chat <model>             the model call (GenAI semantic conventions)
 *       └── execute_tool <name>  each tool call the model made
 *
 * Step runs are runs: their row carries the pipeline run's trace context, and their spans
 * `airmy.pipeline.run_id` / `airmy.pipeline.step_id`.
 */
import { type Attributes, type Span, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import type { ToolCallInfo, ToolResultInfo } from '../engine/providers/types.ts';
import type { RunRow } from '../infra/db/schema.ts';
import { asException, type ExceptionFacts, type Tracing } from './tracing.ts';

/** `openai/gpt-4o` → provider `openai`, model `gpt-4o` (a model id without a provider: both the id). */
function splitModel(model: string): { system: string; name: string } {
  const slash = model.indexOf('/');
  return slash > 0
    ? { system: model.slice(0, slash), name: model.slice(slash + 1) }
    : { system: model, name: model };
}

export function startRunTrace(tracing: Tracing, run: RunRow, startedAt: number, model: string) {
  const { tracer } = tracing;
  const attributes: Attributes = {
    'airmy.run.id': run.id,
    'airmy.agent.id': run.agent_id,
    'airmy.organization.id': run.org_id,
    'gen_ai.request.model': model,
  };
  if (run.deployment_id) attributes['airmy.deployment.id'] = run.deployment_id;
  if (run.pipeline_run_id) attributes['airmy.pipeline.run_id'] = run.pipeline_run_id;
  if (run.step_id) attributes['airmy.pipeline.step_id'] = run.step_id;
  const runSpan = tracer.startSpan(
    'airmy.run',
    { kind: SpanKind.INTERNAL, attributes, startTime: run.created_at },
    tracing.contextFrom(run.trace_context),
  );
  const runCtx = trace.setSpan(tracing.contextFrom(run.trace_context), runSpan);
  tracer
    .startSpan(
      'airmy.run.queue_wait',
      { startTime: run.created_at, attributes: { 'airmy.run.id': run.id } },
      runCtx,
    )
    .end(startedAt);

  const { system, name } = splitModel(model);
  let modelSpan: Span | null = null;
  const tools = new Map<string, Span>();
  let ended = false;

  return {
    modelStarted() {
      modelSpan = tracer.startSpan(
        `chat ${name}`,
        {
          kind: SpanKind.CLIENT,
          attributes: {
            'gen_ai.operation.name': 'chat',
            'gen_ai.system': system,
            'gen_ai.provider.name': system,
            'gen_ai.request.model': name,
            'airmy.run.id': run.id,
          },
        },
        runCtx,
      );
    },
    modelEnded(usage: { input_tokens: number; output_tokens: number } | null, error?: unknown) {
      if (!modelSpan) return;
      if (usage) {
        modelSpan.setAttribute('gen_ai.usage.input_tokens', usage.input_tokens);
        modelSpan.setAttribute('gen_ai.usage.output_tokens', usage.output_tokens);
      }
      if (error !== undefined) {
        const code = (error as { code?: unknown }).code;
        modelSpan.setAttribute('error.type', typeof code === 'string' ? code : 'run_error');
        modelSpan.setStatus({ code: SpanStatusCode.ERROR, message: (error as Error).message });
      }
      modelSpan.end();
      modelSpan = null;
    },
    toolCalled(call: ToolCallInfo) {
      const parent = modelSpan ? trace.setSpan(runCtx, modelSpan) : runCtx;
      tools.set(
        call.id,
        tracer.startSpan(
          `execute_tool ${call.name}`,
          {
            kind: SpanKind.INTERNAL,
            attributes: {
              'gen_ai.operation.name': 'execute_tool',
              'gen_ai.tool.name': call.name,
              'gen_ai.tool.call.id': call.id,
              'airmy.run.id': run.id,
            },
          },
          parent,
        ),
      );
    },
    toolReturned(result: ToolResultInfo) {
      const span = tools.get(result.id);
      if (!span) return;
      tools.delete(result.id);
      if (result.error) {
        span.setAttribute('error.type', result.error.code);
        span.setStatus({ code: SpanStatusCode.ERROR, message: result.error.message });
      }
      span.end();
    },
    /** The terminal status the run is being written with (none: left queued/running at shutdown). */
    outcome(status: string, errorCode?: string) {
      runSpan.setAttribute('airmy.run.status', status);
      if (errorCode) {
        runSpan.setAttribute('error.type', errorCode);
        runSpan.setStatus({ code: SpanStatusCode.ERROR });
      }
    },
    /** An unexpected failure (reported, src/error-reports/): an exception event on the run's span. */
    exception(facts: ExceptionFacts) {
      runSpan.recordException(asException(facts));
      runSpan.setStatus({ code: SpanStatusCode.ERROR, message: facts.name });
    },
    /** After the run's last write; idempotent. */
    ended() {
      if (ended) return;
      ended = true;
      for (const span of tools.values()) span.end();
      modelSpan?.end();
      runSpan.end();
    },
  };
}
export type RunTrace = ReturnType<typeof startRunTrace>;
