/**
 * OpenTelemetry traces, exported over OTLP/HTTP (JSON) when OTEL_EXPORTER_OTLP_ENDPOINT is set.
 *
 * Off by default and free when off: `createTracing` is only called with a config, so with the
 * endpoint unset there is no tracer, no hook, no span object; call sites hold `Tracing | null` and
 * pay one null check. Nothing is registered globally (no `trace.setGlobalTracerProvider`): tests
 * build several servers in one process, each with its own provider.
 *
 * Spans are started with an explicit parent context, never an ambient one, except for one hand-off:
 * the request a run or pipeline run is created in. The request's context is kept in an
 * AsyncLocalStorage from `onRequest` (re-entered in `preHandler`, since body parsing runs outside
 * it), and `activeTraceparent()` reads it where the row is built, so no route has to pass it down.
 *
 * The exporter is wrapped to notice failures: the first is logged, every one is counted
 * (`airmy_otel_export_failures_total`). A collector that is down costs the batch processor's
 * bounded queue (spans beyond it are dropped) and nothing on the request path.
 */
import { AsyncLocalStorage, AsyncResource } from 'node:async_hooks';
import {
  type Context,
  defaultTextMapGetter,
  defaultTextMapSetter,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  type Tracer,
  trace,
} from '@opentelemetry/api';
import { ExportResultCode, W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, BatchSpanProcessor, type SpanExporter } from '@opentelemetry/sdk-trace-base';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { OtelConfig } from '../config.ts';
import { addLogBindings } from './request-logger.ts';

export interface TracingOptions {
  /** every failed export (a collector down, a 4xx/5xx answer) */
  onExportFailure?: () => void;
  /** the first failed export's message (later ones are only counted) */
  warn?: (message: string) => void;
  version?: string;
}

export function createTracing(config: OtelConfig, options: TracingOptions = {}) {
  const exporter = new OTLPTraceExporter({
    url: config.tracesUrl,
    headers: { ...config.headers },
    timeoutMillis: config.exportTimeoutMs,
  });
  let warned = false;
  let warn = options.warn;
  const watched: SpanExporter = {
    export(spans, done) {
      exporter.export(spans, (result) => {
        if (result.code !== ExportResultCode.SUCCESS) {
          options.onExportFailure?.();
          if (!warned) {
            warned = true;
            warn?.(
              `OpenTelemetry: exporting spans to ${config.tracesUrl} failed (${result.error?.message ?? 'unknown error'}); later failures are only counted (airmy_otel_export_failures_total)`,
            );
          }
        }
        done(result);
      });
    },
    shutdown: () => exporter.shutdown(),
    forceFlush: () => exporter.forceFlush(),
  };
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({
      ...config.resourceAttributes,
      'service.name': config.serviceName,
      ...(options.version ? { 'service.version': options.version } : {}),
    }),
    spanProcessors: [
      new BatchSpanProcessor(watched, {
        maxQueueSize: config.maxQueueSize,
        maxExportBatchSize: Math.min(config.maxExportBatchSize, config.maxQueueSize),
        scheduledDelayMillis: config.scheduleDelayMs,
        exportTimeoutMillis: config.exportTimeoutMs,
      }),
    ],
  });
  const tracer: Tracer = provider.getTracer('airmy');
  const propagator = new W3CTraceContextPropagator();
  const active = new AsyncLocalStorage<Context>();
  // open request spans (each removed by onResponse or onRequestAbort; the rest ended at shutdown)
  const requests = new Map<FastifyRequest, { span: Span; scope: AsyncResource }>();

  function traceparentOf(ctx: Context): string | null {
    const carrier: Record<string, string> = {};
    propagator.inject(ctx, carrier, defaultTextMapSetter);
    return carrier.traceparent ?? null;
  }

  /** A stored `traceparent` → a context whose span is that remote parent (root when null or invalid). */
  function contextFrom(traceparent: string | null | undefined): Context {
    if (!traceparent) return ROOT_CONTEXT;
    return propagator.extract(ROOT_CONTEXT, { traceparent }, defaultTextMapGetter);
  }

  function endRequest(request: FastifyRequest, status: number | null) {
    const entry = requests.get(request);
    if (!entry) return;
    requests.delete(request);
    if (status === null) {
      entry.span.setStatus({
        code: SpanStatusCode.ERROR,
        message: 'no response completed (the client aborted, or the server stopped)',
      });
    } else {
      entry.span.setAttribute('http.response.status_code', status);
      if (status >= 500) entry.span.setStatus({ code: SpanStatusCode.ERROR });
    }
    entry.span.end();
  }

  return {
    tracer,
    contextFrom,
    traceparentOf,
    /** The `traceparent` of the request being handled (for the run or pipeline run it creates). */
    activeTraceparent(): string | null {
      const ctx = active.getStore();
      return ctx ? traceparentOf(ctx) : null;
    },
    /**
     * A server span per request: named by method and route pattern, child of an incoming W3C
     * `traceparent`, answered with the span's own `traceparent` header, and its trace id in the
     * request's log lines. Installed first, so a request refused by a later hook has its span too.
     */
    install(app: FastifyInstance) {
      warn ??= (message) => app.log.warn(message);
      app.addHook('onRequest', (request, reply, done) => {
        const parent = propagator.extract(ROOT_CONTEXT, request.headers, defaultTextMapGetter);
        const route = request.is404 ? 'unmatched' : (request.routeOptions.url ?? 'unmatched');
        const span = tracer.startSpan(
          `${request.method} ${route}`,
          {
            kind: SpanKind.SERVER,
            attributes: {
              'http.request.method': request.method,
              'http.route': route,
              'url.path': request.url.split('?')[0],
              'url.scheme': request.protocol,
              'network.protocol.version': request.raw.httpVersion,
              'client.address': request.ip,
              'user_agent.original': request.headers['user-agent'],
              'airmy.request_id': request.id,
            },
          },
          parent,
        );
        const ctx = trace.setSpan(parent, span);
        const { traceId, spanId } = span.spanContext();
        const traceparent = traceparentOf(ctx);
        if (traceparent) reply.header('traceparent', traceparent);
        addLogBindings(request.log, { trace_id: traceId, span_id: spanId });
        active.run(ctx, () => {
          requests.set(request, { span, scope: new AsyncResource('airmy.request') });
          done();
        });
      });
      // body parsing (between onRequest and here) runs outside the request's async context
      app.addHook('preHandler', (request, _reply, done) => {
        const entry = requests.get(request);
        if (entry) entry.scope.runInAsyncScope(done);
        else done();
      });
      app.addHook('onResponse', (request, reply, done) => {
        endRequest(request, reply.statusCode);
        done();
      });
      app.addHook('onRequestAbort', (request, done) => {
        endRequest(request, null);
        done();
      });
    },
    /** The trace id of a request's span (its error report names it). */
    requestTraceId: (request: FastifyRequest): string | undefined =>
      requests.get(request)?.span.spanContext().traceId,
    /**
     * A reported error (src/error-reports/) as an exception event on the request's span, which
     * ends with error status: `exception.type`, `.message`, `.stacktrace`, already redacted.
     */
    recordRequestException(request: FastifyRequest, facts: ExceptionFacts) {
      const entry = requests.get(request);
      if (!entry) return;
      entry.span.recordException(asException(facts));
      entry.span.setStatus({ code: SpanStatusCode.ERROR, message: facts.name });
    },
    /** A worker failure outside a run: a span of its own (`name`) carrying the exception event. */
    recordException(name: string, facts: ExceptionFacts, attributes: Record<string, string> = {}) {
      const span = tracer.startSpan(name, { kind: SpanKind.INTERNAL, attributes }, ROOT_CONTEXT);
      span.recordException(asException(facts));
      span.setStatus({ code: SpanStatusCode.ERROR, message: facts.name });
      span.end();
    },
    /** `fn`, run outside any request's context (a job picked up by a worker loop a request woke). */
    detach<A extends unknown[], R>(fn: (...args: A) => R): (...args: A) => R {
      return (...args) => active.exit(() => fn(...args));
    },
    /**
     * Exports every ended span now (the batch processor otherwise waits its delay). Never rejects:
     * a failed export is already logged and counted by the exporter wrapper above.
     */
    flush: () => provider.forceFlush().catch(() => {}),
    /**
     * Drains the span processor (SIGTERM): ended spans go out before the process exits, with the
     * spans of requests whose connection the shutdown closed before their response hook ran.
     */
    shutdown: () => {
      for (const request of [...requests.keys()]) endRequest(request, null);
      return provider.shutdown().catch(() => {});
    },
  };
}
export type Tracing = ReturnType<typeof createTracing>;

/** A reported error's redacted name, message and stack (src/error-reports/fingerprint.ts). */
export interface ExceptionFacts {
  name: string;
  message: string;
  stack: string | null;
}

export const asException = (facts: ExceptionFacts) => ({
  name: facts.name,
  message: facts.message,
  ...(facts.stack ? { stack: facts.stack } : {}),
});

/**
 * Job handlers that never run in a request's context: a worker loop woken by a request (an inline
 * run's slot) goes on to take other jobs, which must not join that request's trace. Off: as they are.
 */
export function detachedFromRequests<T extends Record<string, (...args: never[]) => unknown>>(
  tracing: Tracing | null,
  handlers: T,
): T {
  if (!tracing) return handlers;
  const out: Record<string, unknown> = {};
  for (const [kind, fn] of Object.entries(handlers)) out[kind] = tracing.detach(fn);
  return out as T;
}
