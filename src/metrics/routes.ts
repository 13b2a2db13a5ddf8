import type { FastifyPluginAsync } from 'fastify';
import { principalOf } from '../http/route-config.ts';
import { withErrors } from '../http/schemas.ts';
import type { Resources } from '../resources.ts';
import { MetricResponse, MetricsQuery, type MetricsQueryT } from './schema.ts';

export const metricRoutes =
  ({ services }: Resources): FastifyPluginAsync =>
  async (app) => {
    app.addSchema(MetricResponse);
    const metrics = services.metrics;

    app.get<{ Querystring: MetricsQueryT }>(
      '/metrics',
      {
        config: { scope: 'metrics:read' },
        schema: {
          operationId: 'getMetrics',
          tags: ['Monitoring'],
          summary: 'Time series of run, latency, token, error, pipeline and rate-limit figures',
          description:
            'Buckets are aligned to UTC interval boundaries: `from` is rounded down and `to` up to the interval, and the answer states the range covered. Every bucket is present: 0 for count and sum, null for avg, max and percentiles when empty. Percentiles are nearest-rank over a log-linear histogram (exact below 32 ms, else the upper bound of a bucket at most 1/32 wide, capped at the maximum). A stat, filter or grouping that does not fit the metric, `from` not before `to`, or more than 10,000 points per series → 422 naming the parameter.',
          querystring: MetricsQuery,
          response: withErrors({ 200: { $ref: 'Metric#' } as never }),
        },
      },
      async (request) => {
        const q = metrics.parseQuery(request.query as Record<string, unknown>);
        return metrics.query(principalOf(request).orgId, q);
      },
    );
  };
