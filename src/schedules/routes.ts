import type { FastifyPluginAsync } from 'fastify';
import type { Static } from 'typebox';
import { principalOf } from '../http/route-config.ts';
import { IdParams, ListQuery, list, listOf, withErrors } from '../http/schemas.ts';
import type { Resources } from '../resources.ts';
import { CreateSchedule, DeletedSchedule, Schedule, ScheduleParams, UpdateSchedule } from './schema.ts';
import type { CreateScheduleInput, UpdateScheduleInput } from './service.ts';

const tags = ['Pipelines'];
const ref = { $ref: 'PipelineSchedule#' } as never;
const read = { scope: 'pipelines:read' as const };
const write = { scope: 'pipelines:write' as const };

export const scheduleRoutes =
  ({ services }: Resources): FastifyPluginAsync =>
  async (app) => {
    app.addSchema(Schedule);
    const schedules = services.schedules;

    app.post<{ Params: Static<typeof IdParams>; Body: CreateScheduleInput }>(
      '/pipelines/:id/schedules',
      {
        config: write,
        schema: {
          operationId: 'createPipelineSchedule',
          tags,
          summary: 'Trigger the pipeline on a cron in a time zone',
          params: IdParams,
          body: CreateSchedule,
          response: withErrors({ 201: ref }),
        },
      },
      async (request, reply) =>
        reply.code(201).send(await schedules.create(principalOf(request), request.params.id, request.body)),
    );
    app.get<{ Params: Static<typeof IdParams>; Querystring: Static<typeof ListQuery> }>(
      '/pipelines/:id/schedules',
      {
        config: read,
        schema: {
          operationId: 'listPipelineSchedules',
          tags,
          summary: 'List a pipeline’s schedules, newest first',
          params: IdParams,
          querystring: ListQuery,
          response: withErrors({ 200: listOf(ref) }),
        },
      },
      async (request) => {
        const page = await schedules.list(principalOf(request).orgId, request.params.id, {
          limit: 20,
          ...request.query,
        });
        return list(page.data, page.has_more);
      },
    );
    app.get<{ Params: Static<typeof ScheduleParams> }>(
      '/pipelines/:id/schedules/:schedule_id',
      {
        config: read,
        schema: {
          operationId: 'getPipelineSchedule',
          tags,
          summary: 'Get a schedule with its next tick and latest runs',
          params: ScheduleParams,
          response: withErrors({ 200: ref }),
        },
      },
      async (request) =>
        schedules.get(principalOf(request).orgId, request.params.id, request.params.schedule_id),
    );
    app.patch<{ Params: Static<typeof ScheduleParams>; Body: UpdateScheduleInput }>(
      '/pipelines/:id/schedules/:schedule_id',
      {
        config: write,
        schema: {
          operationId: 'updatePipelineSchedule',
          tags,
          summary: 'Change a schedule; `enabled: false` pauses it, `true` resumes it',
          params: ScheduleParams,
          body: UpdateSchedule,
          response: withErrors({ 200: ref }),
        },
      },
      async (request) =>
        schedules.update(
          principalOf(request).orgId,
          request.params.id,
          request.params.schedule_id,
          request.body,
        ),
    );
    app.delete<{ Params: Static<typeof ScheduleParams> }>(
      '/pipelines/:id/schedules/:schedule_id',
      {
        config: write,
        schema: {
          operationId: 'deletePipelineSchedule',
          tags,
          summary: 'Delete a schedule: no tick fires after this',
          params: ScheduleParams,
          response: withErrors({ 200: DeletedSchedule }),
        },
      },
      async (request) =>
        schedules.remove(principalOf(request).orgId, request.params.id, request.params.schedule_id),
    );
  };
