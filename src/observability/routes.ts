/**
 * GET /internal/metrics: the Prometheus scrape endpoint. Outside /v2 and hidden from OpenAPI (it is
 * for the operator's monitoring, not API clients), so API keys do not apply: the gateway lets it
 * through, and when AIRMY_METRICS_TOKEN is set it demands `Authorization: Bearer <token>` itself.
 */
import type { FastifyPluginAsync } from 'fastify';
import { hashesEqual, hashSecret } from '../auth/secrets.ts';
import { ApiError, ErrorTypes } from '../errors.ts';
import type { Resources } from '../resources.ts';

export const prometheusRoutes =
  ({ config, prometheus }: Pick<Resources, 'config' | 'prometheus'>): FastifyPluginAsync =>
  async (app) => {
    const expected = config.metricsToken === null ? null : hashSecret(config.metricsToken);
    app.get(
      '/internal/metrics',
      { config: { public: true }, schema: { hide: true } },
      async (request, reply) => {
        if (expected !== null) {
          const header = request.headers.authorization ?? '';
          const given = /^Bearer\s+(.+)$/i.exec(header)?.[1]?.trim();
          if (!given || !hashesEqual(hashSecret(given), expected)) {
            throw new ApiError(
              401,
              ErrorTypes.authentication,
              given ? 'invalid_metrics_token' : 'missing_metrics_token',
              'This endpoint needs the metrics token: Authorization: Bearer $AIRMY_METRICS_TOKEN',
              { headers: { 'www-authenticate': 'Bearer realm="metrics"' } },
            );
          }
        }
        reply.header('content-type', prometheus.contentType);
        reply.header('cache-control', 'no-store');
        return reply.send(await prometheus.metrics());
      },
    );
  };
