import type { FastifyPluginAsync } from 'fastify';
import Type from 'typebox';
import { principalOf } from '../http/route-config.ts';
import { Timestamp, withErrors } from '../http/schemas.ts';
import type { OrganizationRow } from '../infra/db/schema.ts';
import type { Resources } from '../resources.ts';
import { type Organization as OrganizationView, toOrganization } from './service.ts';

export const Organization = Type.Object(
  {
    id: Type.String(),
    object: Type.Literal('organization'),
    name: Type.String(),
    plan: Type.String(),
    limits: Type.Object({ requests_per_minute: Type.Integer(), burst: Type.Integer() }),
    created_at: Timestamp,
  },
  { $id: 'Organization' },
);

export const organizationRoutes =
  ({ services }: Resources): FastifyPluginAsync =>
  async (app) => {
    app.addSchema(Organization);
    // The answer for a cached row is built once (rows are never mutated), not on every request: its
    // date formatting was a visible share of this hot GET.
    const views = new WeakMap<OrganizationRow, OrganizationView>();
    const view = (row: OrganizationRow) => {
      let answer = views.get(row);
      if (!answer) {
        answer = toOrganization(row);
        views.set(row, answer);
      }
      return answer;
    };
    app.get(
      '/organization',
      {
        config: { scope: 'organization:read' },
        schema: {
          operationId: 'getOrganization',
          tags: ['Organization'],
          summary: "The caller's organization, its plan and rate limits",
          response: withErrors({ 200: { $ref: 'Organization#' } }),
        },
      },
      async (request) => view(await services.organizations.get(principalOf(request).orgId)),
    );
  };
