import type { FastifyPluginAsync } from 'fastify';
import { unprocessable } from '../errors.ts';
import { principalOf } from '../http/route-config.ts';
import { list, listOf, withErrors } from '../http/schemas.ts';
import type { Resources } from '../resources.ts';
import { AuditLog, AuditVerification, ListAuditLogsQuery, type ListAuditLogsQueryT } from './schema.ts';

const tags = ['Audit logs'];
const ref = { $ref: 'AuditLog#' } as never;

/** Read-only on purpose: no route changes or deletes an audit entry. */
export const auditRoutes =
  ({ services }: Resources): FastifyPluginAsync =>
  async (app) => {
    app.addSchema(AuditLog);
    const audit = services.audit;
    app.get<{ Querystring: ListAuditLogsQueryT }>(
      '/logs',
      {
        config: { scope: 'audit:read' },
        schema: {
          operationId: 'listAuditLogs',
          tags,
          summary: 'List audit log entries with filters, newest first',
          querystring: ListAuditLogsQuery,
          response: withErrors({ 200: listOf(ref) }),
        },
      },
      async (request) => {
        const { action, actor_id, resource_type, resource_id, outcome, from, to, ...page } = request.query;
        const fromMs = from === undefined ? undefined : Date.parse(from);
        const toMs = to === undefined ? undefined : Date.parse(to);
        if (fromMs !== undefined && toMs !== undefined && fromMs > toMs)
          throw unprocessable('invalid_time_range', '`from` must not be after `to`', 'from');
        const result = await audit.list(
          principalOf(request).orgId,
          { action, actor_id, resource_type, resource_id, outcome, from: fromMs, to: toMs },
          { limit: 20, ...page },
        );
        return list(result.data, result.has_more);
      },
    );
    app.get(
      '/logs/verify',
      {
        config: { scope: 'audit:read' },
        schema: {
          operationId: 'verifyAuditLogs',
          tags,
          summary: "Walk the organization's audit hash chain and report the first broken link",
          response: withErrors({ 200: AuditVerification }),
        },
      },
      async (request) => audit.verify(principalOf(request).orgId),
    );
  };
