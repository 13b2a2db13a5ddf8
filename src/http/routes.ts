import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { agentRoutes } from '../agents/routes.ts';
import { alertRoutes } from '../alerts/routes.ts';
import { apiKeyRoutes } from '../api-keys/routes.ts';
import { auditRoutes } from '../audit/routes.ts';
import { authRoutes } from '../auth/routes.ts';
import { connectorRoutes } from '../connectors/routes.ts';
import { deploymentRoutes } from '../deployments/routes.ts';
import { ApiError, ErrorTypes } from '../errors.ts';
import { guardrailRoutes } from '../guardrails/routes.ts';
import { memberRoutes } from '../members/routes.ts';
import { metricRoutes } from '../metrics/routes.ts';
import { prometheusRoutes } from '../observability/routes.ts';
import { organizationRoutes } from '../organizations/routes.ts';
import { pipelineRoutes } from '../pipelines/routes.ts';
import type { Resources } from '../resources.ts';
import { runRoutes } from '../runs/routes.ts';
import { scheduleRoutes } from '../schedules/routes.ts';
import { userRoutes } from '../users/routes.ts';
import { webhookRoutes } from '../webhooks/routes.ts';
import { readiness } from './health.ts';
import { type ApiVersion, type RouteModule, registerVersion } from './lifecycle/versions.ts';

/** v2: every resource's routes, each an encapsulated plugin. */
export const V2Modules: readonly RouteModule[] = [
  organizationRoutes,
  apiKeyRoutes,
  authRoutes,
  userRoutes,
  memberRoutes,
  agentRoutes,
  runRoutes,
  pipelineRoutes,
  scheduleRoutes,
  webhookRoutes,
  deploymentRoutes,
  alertRoutes,
  connectorRoutes,
  guardrailRoutes,
  metricRoutes,
  auditRoutes,
];

/** The versions served by default: v2 current (v1 is retired: 410 below). */
export const ApiVersions: readonly ApiVersion[] = [{ prefix: '/v2', modules: V2Modules }];

const CHANGELOG = path.resolve(import.meta.dirname, '../../CHANGELOG.md');

/** Every version's routes (versions.ts); ops endpoints outside them. */
export async function registerRoutes(
  app: FastifyInstance,
  resources: Resources,
  versions: readonly ApiVersion[] = ApiVersions,
) {
  app.get('/healthz', { config: { public: true }, schema: { hide: true } }, async () => ({ status: 'ok' }));
  app.get('/readyz', { config: { public: true }, schema: { hide: true } }, async (_req, reply) => {
    const r = await readiness(resources);
    if (r.ok) return { status: 'ready' };
    return reply.code(503).send({ status: 'unavailable', reason: r.reason });
  });
  app.get('/v2/openapi.json', { config: { public: true }, schema: { hide: true } }, async () =>
    app.swagger(),
  );
  // v1 was retired before this server existed: it answers 410 rather than a confusing 404.
  app.all('/v1/*', { config: { public: true }, schema: { hide: true } }, async () => {
    throw new ApiError(
      410,
      ErrorTypes.invalid_request,
      'api_version_retired',
      'API v1 has been retired; use /v2',
    );
  });

  // what every `Link: rel="deprecation"` points at
  app.get('/changelog', { config: { public: true }, schema: { hide: true } }, async (_req, reply) =>
    reply.type('text/markdown; charset=utf-8').send(await readFile(CHANGELOG, 'utf8')),
  );
  await app.register(prometheusRoutes(resources));
  for (const version of versions) await registerVersion(app, resources, version);
}
