/**
 * buildApp(resources) assembles the Fastify app: infrastructure plugins first (request ids, errors,
 * gateway, idempotency, OpenAPI), then each resource's routes as its own plugin. It never listens:
 * src/main.ts does, and tests drive the same app through inject() or a real TLS socket.
 */
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import { Ajv } from 'ajv';
import ajvFormats from 'ajv-formats';
import Fastify, {
  type FastifyInstance,
  type FastifyRequest,
  type FastifyServerOptions,
  type RouteOptions,
} from 'fastify';
import { installAudit } from '../audit/hook.ts';
import { loadDashboardFiles } from '../dashboard/files.ts';
import { installDashboard } from '../dashboard/routes.ts';
import { ApiError, badRequest, ErrorTypes } from '../errors.ts';
import { enableLinearRegexpFallback } from '../infra/regexp-engine.ts';
import { lazyChildLogger } from '../observability/request-logger.ts';
import type { Resources } from '../resources.ts';
import { runIdempotencyResolver } from '../runs/idempotency.ts';
import { clientErrorHandler } from './client-error.ts';
import { installErrorHandler, isReportedStatus, sendError } from './error-handler.ts';
import { installGateway } from './gateway.ts';
import { installIdempotency } from './idempotency/hook.ts';
import { installLifecycle } from './lifecycle/hook.ts';
import type { ApiVersion } from './lifecycle/versions.ts';
import { installMethodTable, installUnroutedHook, type MethodTable } from './methods.ts';
import { openapiTransform } from './openapi-doc.ts';
import { registerRoutes } from './routes.ts';
import { ErrorEnvelope } from './schemas.ts';
import { installStrictJson } from './strict-json.ts';
import './route-config.ts';

const BODY_LIMIT = 1024 * 1024;
const EXPOSED_HEADERS = [
  'Request-Id',
  'RateLimit',
  'RateLimit-Policy',
  'X-RateLimit-Limit',
  'X-RateLimit-Remaining',
  'X-RateLimit-Reset',
  'Retry-After',
  'Idempotent-Replayed',
  'Deprecation',
  'Sunset',
  'X-Should-Retry',
  'Link',
  'traceparent',
].join(', ');

const HSTS = 'max-age=63072000; includeSubDomains';
/** Retry-After of a request refused while the server shuts down: a restart takes a few seconds */
const SHUTDOWN_RETRY_AFTER_S = 2;

/** A path parameter or query value (or one of a repeated query value's items) containing NUL. */
function hasNul(part: unknown): boolean {
  if (!part) return false;
  const values = part as Record<string, unknown>;
  for (const key in values) {
    const value = values[key];
    if (typeof value === 'string') {
      if (value.includes('\0')) return true;
    } else if (Array.isArray(value) && value.some((v) => String(v).includes('\0'))) return true;
  }
  return false;
}

export interface BuildAppOptions {
  /** pino options or a logger instance; false in most tests */
  logger?: FastifyServerOptions['logger'] | FastifyServerOptions['loggerInstance'];
  https?: { key: string; cert: string } | null;
  trustProxy?: readonly string[];
  /** the major versions served (default: src/http/routes.ts ApiVersions) */
  versions?: readonly ApiVersion[];
  /** sees every route as it is added (tests build the cross-tenant sweep from it) */
  onRoute?: (route: RouteOptions) => void;
}

// ajv-formats is CommonJS: its plugin function is the module's `default` export property.
const addFormats = ajvFormats.default;

/**
 * Body validation never coerces types (a mistyped field is a 400); query strings do. Installed as a
 * compilers factory, not setValidatorCompiler: Fastify rebuilds the validator of every plugin that
 * adds shared schemas from the factory, and would otherwise fall back to its own Ajv there.
 */
function buildValidator(externalSchemas: unknown) {
  const make = (coerceTypes: boolean | 'array') => {
    const ajv = new Ajv({
      coerceTypes,
      removeAdditional: false,
      useDefaults: true,
      allErrors: false,
      strict: false,
    });
    addFormats(ajv);
    for (const schema of Object.values((externalSchemas ?? {}) as Record<string, object>))
      ajv.addSchema(schema);
    return ajv;
  };
  const body = make(false);
  const query = make('array');
  return ({ schema, httpPart }: { schema: object; httpPart?: string }) =>
    (httpPart === 'body' ? body : query).compile(schema);
}

export async function buildApp(
  resources: Resources,
  options: BuildAppOptions = {},
): Promise<FastifyInstance> {
  const { ids } = resources;
  enableLinearRegexpFallback(); // process-wide: src/infra/regexp-engine.ts says why
  const logger = options.logger ?? false;
  let methodTable: MethodTable | undefined;
  const isInstance = typeof logger === 'object' && logger !== null && 'child' in logger;
  const app = Fastify({
    ...(isInstance
      ? { loggerInstance: logger as FastifyServerOptions['loggerInstance'] }
      : { logger: logger as FastifyServerOptions['logger'] }),
    ...(logger === false ? {} : { childLoggerFactory: lazyChildLogger }),
    ...(options.https ? { https: { ...options.https, allowHTTP1: true } } : {}),
    bodyLimit: BODY_LIMIT,
    genReqId: () => ids('req'),
    requestIdHeader: false,
    return503OnClosing: false, // answered below, with the envelope and Retry-After (src/lifecycle.ts)
    routerOptions: { ignoreTrailingSlash: true },
    // Malformed URLs and over-long path parameters are answered before routing: same envelope.
    frameworkErrors: (error, request, reply) => {
      const tooLong = error.code === 'FST_ERR_MAX_PARAM_LENGTH';
      const err = new ApiError(
        tooLong ? 414 : 400,
        ErrorTypes.invalid_request,
        tooLong ? 'uri_too_long' : 'invalid_url',
        tooLong ? 'A path parameter is too long' : 'The URL is not valid',
      );
      reply.header('request-id', request.id);
      return sendError(reply, err, request.id);
    },
    schemaController: { compilersFactory: { buildValidator: buildValidator as never } },
    // Errors of Node's HTTP parser (431 for a header block over 16 KiB): the same envelope.
    clientErrorHandler: clientErrorHandler(
      () => ids('req'),
      (path) => methodTable?.allowed(path) ?? [],
    ),
  }) as unknown as FastifyInstance;

  if (options.onRoute) app.addHook('onRoute', options.onRoute);
  // OpenTelemetry (off: nothing installed): first, so every request has its span, refused ones too
  resources.tracing?.install(app);
  app.removeContentTypeParser('text/plain');
  // Strict JSON (src/http/strict-json.ts): refused, never changed — encoding, UTF-8, depth,
  // duplicate keys, non-finite numbers, NUL escapes; an empty body is no body.
  installStrictJson(app);
  app.addSchema(ErrorEnvelope);

  // The per-request hooks below are callback style, not async: a hook that returns a promise costs
  // the request a promise and a microtask hop even when it has nothing to do.
  const trusted = new Set(options.trustProxy ?? []);
  app.addHook('onRequest', (request, reply, done) => {
    reply.header('request-id', request.id);
    // Only a cross-origin browser request (it always carries Origin) can use the list.
    if (request.headers.origin !== undefined) reply.header('access-control-expose-headers', EXPOSED_HEADERS);
    const socket = request.raw.socket as { encrypted?: boolean; remoteAddress?: string };
    if (
      socket.encrypted ||
      (trusted.has(socket.remoteAddress ?? '') && request.headers['x-forwarded-proto'] === 'https')
    ) {
      reply.header('strict-transport-security', HSTS);
    }
    done();
  });

  // Shutting down (src/lifecycle.ts): what arrives now is refused, with a time to come back (another
  // node, or this one restarted); every answer from now on closes its keep-alive connection.
  app.decorate('lifecycle', resources.lifecycle);
  app.addHook('onRequest', (_request, reply, done) => {
    if (!resources.lifecycle.draining) return done();
    reply.header('connection', 'close');
    done(
      new ApiError(503, ErrorTypes.api, 'server_shutting_down', 'The server is restarting; retry shortly', {
        headers: { 'retry-after': String(SHUTDOWN_RETRY_AFTER_S) },
      }),
    );
  });
  app.addHook('onSend', (_request, reply, payload, done) => {
    if (resources.lifecycle.draining) reply.header('connection', 'close');
    done(null, payload);
  });

  // Errors reported automatically (src/error-reports/), once per request: by the error handler
  // before it answers, or — a 5xx a route sent itself, never thrown — after the answer here.
  const reported = new WeakSet<FastifyRequest>();
  const reportRequest = (request: FastifyRequest, error: unknown, status: number) => {
    if (reported.has(request)) return undefined;
    reported.add(request);
    resources.counters.internalErrors++;
    const route = request.is404 ? 'unmatched' : (request.routeOptions.url ?? 'unmatched');
    const report = resources.errorReporter.report(
      error,
      {
        kind: 'request',
        route: `${request.method} ${route}`,
        statusCode: status,
        requestId: request.id,
        orgId: request.principal?.orgId,
        traceId: resources.tracing?.requestTraceId(request),
      },
      { occurrence: request, logTo: request.log },
    );
    if (!report) return undefined;
    resources.tracing?.recordRequestException(request, report.facts);
    return report.stored;
  };
  resources.errorReporter.useLog(app.log);

  // Request duration by route pattern (bounded label set), not the raw URL; unrouted → "unmatched".
  app.addHook('onResponse', (request, reply, done) => {
    const route = request.is404 ? 'unmatched' : (request.routeOptions.url ?? 'unmatched');
    resources.prometheus.observeHttp(request.method, route, reply.statusCode, reply.elapsedTime / 1000);
    if (isReportedStatus(reply.statusCode) && !reported.has(request)) {
      const error = new Error(`answered ${reply.statusCode} without an error`);
      error.name = 'UnexplainedServerError';
      error.stack = undefined;
      void reportRequest(request, error, reply.statusCode);
    }
    done();
  });

  app.addHook('preValidation', (request, _reply, done) => {
    if (hasNul(request.params) || hasNul(request.query)) {
      return done(badRequest('invalid_character', 'Request contains a NUL character'));
    }
    // A POST without a body (`curl -X POST …/rotate`, or a browser's `fetch` that sends
    // `Content-Length: 0`) means "no parameters", not "invalid body".
    const length = request.headers['content-length'];
    if (request.body === undefined && request.method !== 'GET' && (length === undefined || length === '0')) {
      request.body = {};
    }
    done();
  });

  installErrorHandler(app, reportRequest);
  installGateway(app, {
    auth: resources.services.auth,
    limiter: resources.limiter,
    clock: resources.clock,
    onRateLimited: (keyId, orgId) => {
      resources.counters.rateLimited++;
      resources.metricsWriter.rateLimited(orgId, keyId);
      resources.prometheus.observeRateLimited();
    },
  });
  installLifecycle(app, {
    clock: resources.clock,
    onUse: (principal, deprecation) => {
      resources.prometheus.observeDeprecatedCall(deprecation.id, principal?.keyId ?? '');
      if (principal) resources.metricsWriter.deprecatedCall(principal.orgId, principal.keyId, deprecation.id);
    },
  });
  installIdempotency(app, {
    store: resources.stores.idempotency,
    clock: resources.clock,
    leaseMs: resources.config.idempotencyLeaseMs,
    resolve: runIdempotencyResolver(() => resources.services.runs),
  });
  installAudit(app, resources.services.audit, { trustProxy: options.trustProxy });

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'AIRMY API',
        version: '2.0.0',
        description: 'Define agents, deploy versions, invoke runs, chain pipelines and monitor them.',
        license: { name: 'Proprietary', identifier: 'LicenseRef-AIRMY' },
      },
      servers: [{ url: 'https://127.0.0.1:8443', description: 'Local (embedded) server' }],
      components: {
        securitySchemes: {
          bearerAuth: { type: 'http', scheme: 'bearer', description: 'API key or session token' },
          cookieAuth: {
            type: 'apiKey',
            in: 'cookie',
            name: '__Host-airmy_session',
            description:
              'Browser session (POST /v2/auth/session). Ignored when an Authorization header is sent; unsafe methods need Sec-Fetch-Site same-origin (or a matching Origin) and a JSON body',
          },
        },
      },
      security: [{ bearerAuth: [] }, { cookieAuth: [] }],
    },
    refResolver: { buildLocalReference: (json, _base, _fragment, i) => String(json.$id ?? `def-${i}`) },
    // Request fields checked by services are documented precisely (src/http/openapi-doc.ts).
    transform: openapiTransform as never,
  });
  // The docs UI's own routes are public, like the document they render.
  app.addHook('onRoute', (route) => {
    if (route.url.startsWith('/docs')) route.config = { ...route.config, public: true };
  });
  await app.register(swaggerUi, { routePrefix: '/docs', uiConfig: { deepLinking: true } });

  // Routes are remembered so an unknown method on a known path can answer 405 with Allow.
  const methods = installMethodTable(app);
  methodTable = methods;
  // The web UI at `/` (src/dashboard/): its routes, and the history fallback for client-side paths.
  const historyFallback = installDashboard(app, loadDashboardFiles(resources.config.dashboardDir));
  installUnroutedHook(app, methods, historyFallback);

  await registerRoutes(app, resources, options.versions);

  return app;
}
