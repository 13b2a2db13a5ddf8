import type { FastifyPluginAsync } from 'fastify';
import Type, { type Static } from 'typebox';
import { principalOf } from '../http/route-config.ts';
import { IdParams, ListQuery, list, listOf, sseResponse, withErrors } from '../http/schemas.ts';
import { followEvents, openSse, resumeFrom, type SseStream } from '../http/sse.ts';
import type { Resources } from '../resources.ts';
import { EventsQuery } from '../runs/schema.ts';
import { isPipelineTerminalEvent, type PipelineEvent } from './events.ts';
import {
  CreatePipeline,
  ListPipelineRunsQuery,
  type ListPipelineRunsQueryT,
  Pipeline,
  PipelineRun,
  PipelineRunParams,
  TriggerPipeline,
  UpdatePipeline,
} from './schema.ts';
import type { PipelineService } from './service.ts';

const tags = ['Pipelines'];
const ref = { $ref: 'Pipeline#' } as never;
const runRef = { $ref: 'PipelineRun#' } as never;
const Deleted = Type.Object({ id: Type.String(), object: Type.Literal('pipeline'), deleted: Type.Boolean() });

/** Streams a pipeline run's events after `afterSeq` until its terminal event (see followEvents). */
function followPipelineRun(
  stream: SseStream,
  pipelines: PipelineService,
  orgId: string,
  pipelineId: string,
  id: string,
  afterSeq: number,
) {
  return followEvents<PipelineEvent>(
    stream,
    {
      subscribe: (listener, onResync) => pipelines.subscribe(id, listener, onResync),
      ready: () => pipelines.ready(id),
      replay: async (after) => {
        const { events, terminal } = await pipelines.eventsAfter(orgId, pipelineId, id, after);
        return { events, done: terminal };
      },
      isLast: (e) => isPipelineTerminalEvent(e.type),
    },
    afterSeq,
  );
}

export const pipelineRoutes =
  ({ services }: Resources): FastifyPluginAsync =>
  async (app) => {
    app.addSchema(Pipeline);
    app.addSchema(PipelineRun);
    const pipelines = services.pipelines;
    const read = { scope: 'pipelines:read' as const };
    const write = { scope: 'pipelines:write' as const };

    app.post<{ Body: Record<string, unknown> }>(
      '/pipelines',
      {
        config: write,
        schema: {
          operationId: 'createPipeline',
          tags,
          summary: 'Create a pipeline: a DAG of agent steps',
          body: CreatePipeline,
          response: withErrors({ 201: ref }),
        },
      },
      async (request, reply) =>
        reply.code(201).send(await pipelines.create(principalOf(request).orgId, request.body)),
    );
    app.get<{ Querystring: Static<typeof ListQuery> }>(
      '/pipelines',
      {
        config: read,
        schema: {
          operationId: 'listPipelines',
          tags,
          summary: 'List pipelines, newest first',
          querystring: ListQuery,
          response: withErrors({ 200: listOf(ref) }),
        },
      },
      async (request) => {
        const page = await pipelines.list(principalOf(request).orgId, { limit: 20, ...request.query });
        return list(page.data, page.has_more);
      },
    );
    app.get<{ Params: Static<typeof IdParams> }>(
      '/pipelines/:id',
      {
        config: read,
        schema: {
          operationId: 'getPipeline',
          tags,
          summary: 'Get a pipeline',
          params: IdParams,
          response: withErrors({ 200: ref }),
        },
      },
      async (request) => pipelines.get(principalOf(request).orgId, request.params.id),
    );
    app.patch<{ Params: Static<typeof IdParams>; Body: Record<string, unknown> }>(
      '/pipelines/:id',
      {
        config: write,
        schema: {
          operationId: 'updatePipeline',
          tags,
          summary: 'Update a pipeline (new version; runs already triggered keep theirs)',
          params: IdParams,
          body: UpdatePipeline,
          response: withErrors({ 200: ref }),
        },
      },
      async (request) => pipelines.update(principalOf(request).orgId, request.params.id, request.body),
    );
    app.delete<{ Params: Static<typeof IdParams> }>(
      '/pipelines/:id',
      {
        config: write,
        schema: {
          operationId: 'deletePipeline',
          tags,
          summary: 'Delete a pipeline',
          params: IdParams,
          response: withErrors({ 200: Deleted }),
        },
      },
      async (request) => pipelines.remove(principalOf(request).orgId, request.params.id),
    );

    app.post<{ Params: Static<typeof IdParams>; Body: Static<typeof TriggerPipeline> }>(
      '/pipelines/:id/trigger',
      {
        config: write,
        schema: {
          operationId: 'triggerPipeline',
          tags,
          summary: 'Start a pipeline run (202; follow it with GET …/runs/{run_id} or its events)',
          params: IdParams,
          body: TriggerPipeline,
          response: withErrors({ 202: runRef }),
        },
      },
      async (request, reply) =>
        reply.code(202).send(await pipelines.trigger(principalOf(request), request.params.id, request.body)),
    );
    app.get<{ Params: Static<typeof IdParams>; Querystring: ListPipelineRunsQueryT }>(
      '/pipelines/:id/runs',
      {
        config: read,
        schema: {
          operationId: 'listPipelineRuns',
          tags,
          summary: 'List a pipeline’s runs with filters, newest first',
          params: IdParams,
          querystring: ListPipelineRunsQuery,
          response: withErrors({ 200: listOf(runRef) }),
        },
      },
      async (request) => {
        const q = request.query;
        const page = await pipelines.listRuns(
          principalOf(request).orgId,
          request.params.id,
          {
            status: q.status,
            created_after: q.created_after ? Date.parse(q.created_after) : undefined,
            created_before: q.created_before ? Date.parse(q.created_before) : undefined,
          },
          { limit: q.limit ?? 20, starting_after: q.starting_after, ending_before: q.ending_before },
        );
        return list(page.data, page.has_more);
      },
    );
    app.get<{ Params: Static<typeof PipelineRunParams> }>(
      '/pipelines/:id/runs/:run_id',
      {
        config: read,
        schema: {
          operationId: 'getPipelineRun',
          tags,
          summary: 'Get a pipeline run with its steps',
          params: PipelineRunParams,
          response: withErrors({ 200: runRef }),
        },
      },
      async (request) =>
        pipelines.getRun(principalOf(request).orgId, request.params.id, request.params.run_id),
    );
    app.post<{ Params: Static<typeof PipelineRunParams> }>(
      '/pipelines/:id/runs/:run_id/cancel',
      {
        config: write,
        schema: {
          operationId: 'cancelPipelineRun',
          tags,
          summary: 'Cancel a pipeline run: running steps are cancelled, pending ones never start',
          params: PipelineRunParams,
          response: withErrors({ 200: runRef }),
        },
      },
      async (request) =>
        pipelines.cancelRun(principalOf(request).orgId, request.params.id, request.params.run_id),
    );
    app.get<{ Params: Static<typeof PipelineRunParams>; Querystring: Static<typeof EventsQuery> }>(
      '/pipelines/:id/runs/:run_id/events',
      {
        config: read,
        schema: {
          operationId: 'streamPipelineRunEvents',
          tags,
          summary: 'The pipeline run’s events as Server-Sent Events, resumable with Last-Event-ID',
          params: PipelineRunParams,
          querystring: EventsQuery,
          response: withErrors({
            200: sseResponse('text/event-stream of pipeline run events'),
          }),
        },
      },
      async (request, reply) => {
        const orgId = principalOf(request).orgId;
        const { id, run_id } = request.params;
        await pipelines.getRun(orgId, id, run_id); // 404 before the stream opens
        const stream = openSse(request, reply);
        await followPipelineRun(stream, pipelines, orgId, id, run_id, resumeFrom(request));
        return reply;
      },
    );
  };
