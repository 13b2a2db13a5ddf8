import type { FastifyPluginAsync } from 'fastify';
import { unprocessable } from '../errors.ts';
import { V2Deprecations } from '../http/lifecycle/deprecations.ts';
import { principalOf } from '../http/route-config.ts';
import { list, listOf, withErrors } from '../http/schemas.ts';
import type { Resources } from '../resources.ts';
import { AuditLog, AuditVerification, ListAuditLogsQuery, type ListAuditLogsQueryT } from './schema.ts';

const tags = ['Audit logs'];
const ref = { $ref: 'AuditLog#' } as never;

/**
 * The time range of a list query, in ms: `created_after` / `created_before` (exclusive, as on every
 * list), or the deprecated `from` (inclusive) / `to` (exclusive). Mixing the two names is a 400.
 */
function timeRange(q: ListAuditLogsQueryT): { from?: number; to?: number } {
  const given = (v: string | undefined) => (v === undefined ? undefined : Date.parse(v));
  if (
    (q.from !== undefined || q.to !== undefined) &&
    (q.created_after !== undefined || q.created_before !== undefined)
  )
    throw unprocessable(
      'parameter_conflict',
      'Use created_after / created_before, or the deprecated from / to, not both',
      q.from !== undefined ? 'from' : 'to',
    );
  const after = given(q.created_after);
  const range = {
    from: after === undefined ? given(q.from) : after + 1,
    to: given(q.created_before) ?? given(q.to),
  };
  if (range.from !== undefined && range.to !== undefined && range.from > range.to)
    throw unprocessable(
      'invalid_time_range',
      'The start of the range must not be after its end',
      q.from ? 'from' : 'created_after',
    );
  return range;
}

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
      async (request, reply) => {
        const { action, actor_id, resource_type, resource_id, outcome, from, to } = request.query;
        const { limit, starting_after, ending_before } = request.query;
        const range = timeRange(request.query);
        if (from !== undefined || to !== undefined) {
          const param = from !== undefined ? 'from' : 'to';
          request.server.apiLifecycle.use(request, reply, V2Deprecations.auditLogTimeRange, param);
        }
        const result = await audit.list(
          principalOf(request).orgId,
          { action, actor_id, resource_type, resource_id, outcome, ...range },
          { limit: limit ?? 20, starting_after, ending_before },
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
