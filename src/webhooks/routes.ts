import type { FastifyPluginAsync } from 'fastify';
import type { Static } from 'typebox';
import { principalOf } from '../http/route-config.ts';
import { IdParams, ListQuery, list, listOf, withErrors } from '../http/schemas.ts';
import { PipelineRunParams } from '../pipelines/schema.ts';
import type { Resources } from '../resources.ts';
import { CompletionWebhookDelivery } from './schema.ts';

const ref = { $ref: 'WebhookDelivery#' } as never;
const description =
  'Every attempt to deliver its completion event to its webhook, newest first: status code, outcome, error, duration, and when the next attempt is due.';

/** The delivery logs of completion webhooks: a run's, a pipeline run's (404 unless the caller's). */
export const webhookRoutes =
  ({ services, completionWebhooks }: Resources): FastifyPluginAsync =>
  async (app) => {
    app.addSchema(CompletionWebhookDelivery);
    const page = (q: Static<typeof ListQuery>) => ({
      limit: q.limit ?? 20,
      starting_after: q.starting_after,
      ending_before: q.ending_before,
    });

    app.get<{ Params: Static<typeof IdParams>; Querystring: Static<typeof ListQuery> }>(
      '/runs/:id/webhook_deliveries',
      {
        config: { scope: 'runs:read' },
        schema: {
          operationId: 'listRunWebhookDeliveries',
          tags: ['Runs'],
          summary: 'A run’s completion webhook deliveries',
          description,
          params: IdParams,
          querystring: ListQuery,
          response: withErrors({ 200: listOf(ref) }),
        },
      },
      async (request) => {
        const run = await services.runs.get(principalOf(request).orgId, request.params.id);
        const p = await completionWebhooks.deliveries(run.id, page(request.query));
        return list(p.data, p.has_more);
      },
    );

    app.get<{ Params: Static<typeof PipelineRunParams>; Querystring: Static<typeof ListQuery> }>(
      '/pipelines/:id/runs/:run_id/webhook_deliveries',
      {
        config: { scope: 'pipelines:read' },
        schema: {
          operationId: 'listPipelineRunWebhookDeliveries',
          tags: ['Pipelines'],
          summary: 'A pipeline run’s completion webhook deliveries',
          description,
          params: PipelineRunParams,
          querystring: ListQuery,
          response: withErrors({ 200: listOf(ref) }),
        },
      },
      async (request) => {
        const { id, run_id } = request.params;
        const run = await services.pipelines.getRun(principalOf(request).orgId, id, run_id);
        const p = await completionWebhooks.deliveries(run.id, page(request.query));
        return list(p.data, p.has_more);
      },
    );
  };
