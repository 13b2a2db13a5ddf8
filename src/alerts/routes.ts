import type { FastifyPluginAsync } from 'fastify';
import type { Static } from 'typebox';
import { principalOf } from '../http/route-config.ts';
import { IdParams, ListQuery, list, listOf, withErrors } from '../http/schemas.ts';
import type { Resources } from '../resources.ts';
import {
  Alert,
  AlertDeleted,
  AlertEvent,
  CreateAlert,
  type CreateAlertBody,
  ListAlertsQuery,
  type ListAlertsQueryT,
  UpdateAlert,
  type UpdateAlertBody,
} from './schema.ts';

const tags = ['Alerts'];
const ref = { $ref: 'Alert#' } as never;
const eventRef = { $ref: 'AlertEvent#' } as never;

export const alertRoutes =
  ({ services }: Pick<Resources, 'services'>): FastifyPluginAsync =>
  async (app) => {
    app.addSchema(Alert);
    app.addSchema(AlertEvent);
    const alerts = services.alerts;

    app.post<{ Body: CreateAlertBody }>(
      '/alerts',
      {
        config: { scope: 'alerts:write' },
        schema: {
          operationId: 'createAlert',
          tags,
          summary: 'Create an alert rule on a metric, notified through signed webhooks',
          description:
            'The rule’s metric, stat and filters are validated like GET /v2/metrics (422 naming the field). Webhook URLs must be https on a public address. Channel secrets are write-only.',
          body: CreateAlert,
          response: withErrors({ 201: ref }),
        },
      },
      async (request, reply) =>
        reply.code(201).send(await alerts.create(principalOf(request).orgId, request.body)),
    );

    app.get<{ Querystring: ListAlertsQueryT }>(
      '/alerts',
      {
        config: { scope: 'alerts:read' },
        schema: {
          operationId: 'listAlerts',
          tags,
          summary: 'List alert rules, newest first',
          querystring: ListAlertsQuery,
          response: withErrors({ 200: listOf(ref) }),
        },
      },
      async (request) => {
        const r = await alerts.list(principalOf(request).orgId, { limit: 20, ...request.query });
        return list(r.data, r.has_more);
      },
    );

    app.get<{ Params: Static<typeof IdParams> }>(
      '/alerts/:id',
      {
        config: { scope: 'alerts:read' },
        schema: {
          operationId: 'getAlert',
          tags,
          summary: 'Get an alert rule and its current state',
          params: IdParams,
          response: withErrors({ 200: ref }),
        },
      },
      async (request) => alerts.get(principalOf(request).orgId, request.params.id),
    );

    app.patch<{ Params: Static<typeof IdParams>; Body: UpdateAlertBody }>(
      '/alerts/:id',
      {
        config: { scope: 'alerts:write' },
        schema: {
          operationId: 'updateAlert',
          tags,
          summary: 'Update an alert rule (given fields only; `channels` replaces every channel)',
          params: IdParams,
          body: UpdateAlert,
          response: withErrors({ 200: ref }),
        },
      },
      async (request) => alerts.update(principalOf(request).orgId, request.params.id, request.body),
    );

    app.delete<{ Params: Static<typeof IdParams> }>(
      '/alerts/:id',
      {
        config: { scope: 'alerts:write' },
        schema: {
          operationId: 'deleteAlert',
          tags,
          summary: 'Delete an alert rule (its pending deliveries are dropped)',
          params: IdParams,
          response: withErrors({ 200: AlertDeleted }),
        },
      },
      async (request) => alerts.remove(principalOf(request).orgId, request.params.id),
    );

    app.get<{ Params: Static<typeof IdParams>; Querystring: Static<typeof ListQuery> }>(
      '/alerts/:id/events',
      {
        config: { scope: 'alerts:read' },
        schema: {
          operationId: 'listAlertEvents',
          tags,
          summary:
            'The rule’s state transitions (firing, resolved), newest first, with every delivery attempt',
          params: IdParams,
          querystring: ListQuery,
          response: withErrors({ 200: listOf(eventRef) }),
        },
      },
      async (request) => {
        const r = await alerts.events(principalOf(request).orgId, request.params.id, {
          limit: 20,
          ...request.query,
        });
        return list(r.data, r.has_more);
      },
    );
  };
