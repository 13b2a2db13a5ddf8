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
import { metricRoutes } from '../metrics/routes.ts';
import { prometheusRoutes } from '../observability/routes.ts';
import { organizationRoutes } from '../organizations/routes.ts';
import { pipelineRoutes } from '../pipelines/routes.ts';
import type { Resources } from '../resources.ts';
import { runRoutes } from '../runs/routes.ts';
import { scheduleRoutes } from '../schedules/routes.ts';
import { webhookRoutes } from '../webhooks/routes.ts';

/** Every resource's routes, each an encapsulated plugin under /v2; ops endpoints outside it. */
export async function registerRoutes(app: FastifyInstance, resources: Resources) {
  app.get('/healthz', { config: { public: true }, schema: { hide: true } }, async () => ({ status: 'ok' }));
  app.get('/readyz', { config: { public: true }, schema: { hide: true } }, async (_req, reply) => {
    try {
      await resources.db.ping();
      return { status: 'ready' };
    } catch {
      return reply.code(503).send({ status: 'unavailable', reason: 'database unreachable' });
    }
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

  await app.register(prometheusRoutes(resources));
  await app.register(organizationRoutes(resources), { prefix: '/v2' });
  await app.register(apiKeyRoutes(resources), { prefix: '/v2' });
  await app.register(authRoutes(resources), { prefix: '/v2' });
  await app.register(agentRoutes(resources), { prefix: '/v2' });
  await app.register(runRoutes(resources), { prefix: '/v2' });
  await app.register(pipelineRoutes(resources), { prefix: '/v2' });
  await app.register(scheduleRoutes(resources), { prefix: '/v2' });
  await app.register(webhookRoutes(resources), { prefix: '/v2' });
  await app.register(deploymentRoutes(resources), { prefix: '/v2' });
  await app.register(alertRoutes(resources), { prefix: '/v2' });
  await app.register(connectorRoutes(resources), { prefix: '/v2' });
  await app.register(guardrailRoutes(resources), { prefix: '/v2' });
  await app.register(metricRoutes(resources), { prefix: '/v2' });
  await app.register(auditRoutes(resources), { prefix: '/v2' });
}
