import type { FastifyPluginAsync } from 'fastify';
import type { Static } from 'typebox';
import { bindIdempotency, settleIdempotency } from '../http/idempotency/hook.ts';
import { principalOf } from '../http/route-config.ts';
import { IdParams, jsonOrSseResponse, list, listOf, sseResponse, withErrors } from '../http/schemas.ts';
import { openSse, resumeFrom } from '../http/sse.ts';
import type { Resources } from '../resources.ts';
import { isTerminal } from './events.ts';
import { followRun } from './follow.ts';
import { CreateRun, EventsQuery, ListRunsQuery, type ListRunsQueryT, Run } from './schema.ts';

const tags = ['Runs'];
const ref = { $ref: 'Run#' } as never;

export const runRoutes =
  ({ services, stores, config, lifecycle }: Resources): FastifyPluginAsync =>
  async (app) => {
    app.addSchema(Run);
    const runs = services.runs;

    app.post<{ Body: Static<typeof CreateRun> }>(
      '/runs',
      {
        config: { scope: 'runs:write' },
        schema: {
          operationId: 'createRun',
          tags,
          summary: 'Invoke an agent: sync (default), background, or streamed',
          description:
            'Sync waits for the run to finish (up to the server bound) and answers 200 with it, or 202 with the run as it stands. `background: true` answers 202 at once. `stream: true` answers a text/event-stream of the run’s events. A run that fails is still 200 with `status: "failed"`.',
          body: CreateRun,
          response: withErrors({
            200: jsonOrSseResponse(
              'The finished run; with `stream: true`, a text/event-stream of its events',
              ref,
            ),
            202: ref,
          }),
        },
      },
      async (request, reply) => {
        const principal = principalOf(request);
        const idempotencyKey = request.headers['idempotency-key'];
        // a canary routes by the run's routing key, else by the request's Idempotency-Key
        const body =
          request.body.routing_key === undefined && typeof idempotencyKey === 'string'
            ? { ...request.body, routing_key: idempotencyKey }
            : request.body;
        const sync = !body.stream && !body.background;
        const accepted = await runs.create(principal, body, {}, { claim: true, inline: sync, watch: sync });
        const { row, created } = accepted;
        // a retry after a crash is answered from this run (http/idempotency/hook.ts)
        // (never rejects: a claim left unnamed is still freed by its lease)
        const bound = bindIdempotency(stores.idempotency, request, row.id).catch(() => {});
        if (body.stream) {
          let following: Promise<unknown>;
          try {
            const stream = openSse(request, reply);
            following = followRun(stream, runs, principal.orgId, row.id, 0);
          } finally {
            runs.kick(accepted); // an accepted run runs, whatever happened to its stream
          }
          await following;
          await bound;
          // a stream the client left early stores the run as it stood: a 202, replayed as it stands then
          const now = await runs.get(principal.orgId, row.id);
          await settleIdempotency(stores.idempotency, request, isTerminal(now.status) ? 200 : 202, now);
          return reply;
        }
        if (body.background) {
          runs.kick(accepted);
          await bound;
          return reply.code(202).send(created.run);
        }
        const watcher = accepted.watcher ?? runs.terminalWatcher(row.id);
        runs.kick(accepted);
        await bound;
        // at shutdown the wait ends once the workers stopped: the run as it stands (src/lifecycle.ts)
        const terminal = await watcher.wait(config.syncWaitMs, lifecycle.released);
        if (terminal?.run) return reply.code(200).send(terminal.run);
        const current = await runs.get(principal.orgId, row.id);
        return reply.code(isTerminal(current.status) ? 200 : 202).send(current);
      },
    );

    app.get<{ Querystring: ListRunsQueryT }>(
      '/runs',
      {
        config: { scope: 'runs:read' },
        schema: {
          operationId: 'listRuns',
          tags,
          summary: 'List runs with filters, newest first',
          querystring: ListRunsQuery,
          response: withErrors({ 200: listOf(ref) }),
        },
      },
      async (request) => {
        const q = request.query;
        const metadata: Record<string, string> = {};
        for (const [k, v] of Object.entries(q)) {
          const m = /^metadata\[(.+)\]$/.exec(k);
          if (m) metadata[m[1]] = String(v);
        }
        const page = await runs.list(
          principalOf(request).orgId,
          {
            agent_id: q.agent_id,
            pipeline_run_id: q.pipeline_run_id,
            deployment_id: q.deployment_id,
            status: q.status,
            created_after: q.created_after ? Date.parse(q.created_after) : undefined,
            created_before: q.created_before ? Date.parse(q.created_before) : undefined,
            metadata,
          },
          { limit: q.limit ?? 20, starting_after: q.starting_after, ending_before: q.ending_before },
        );
        return list(page.data, page.has_more);
      },
    );

    app.get<{ Params: Static<typeof IdParams> }>(
      '/runs/:id',
      {
        config: { scope: 'runs:read' },
        schema: {
          operationId: 'getRun',
          tags,
          summary: 'Get a run and its result',
          params: IdParams,
          response: withErrors({ 200: ref }),
        },
      },
      async (request) => runs.get(principalOf(request).orgId, request.params.id),
    );

    app.delete<{ Params: Static<typeof IdParams> }>(
      '/runs/:id',
      {
        config: { scope: 'runs:write' },
        schema: {
          operationId: 'cancelRun',
          tags,
          summary: 'Cancel a run: queued at once, running by aborting its model call',
          params: IdParams,
          response: withErrors({ 200: ref }),
        },
      },
      async (request) => runs.cancel(principalOf(request).orgId, request.params.id),
    );

    app.get<{ Params: Static<typeof IdParams>; Querystring: Static<typeof EventsQuery> }>(
      '/runs/:id/events',
      {
        config: { scope: 'runs:read' },
        schema: {
          operationId: 'streamRunEvents',
          tags,
          summary: 'The run’s events as Server-Sent Events, resumable with Last-Event-ID',
          params: IdParams,
          querystring: EventsQuery,
          response: withErrors({
            200: sseResponse('text/event-stream of run events'),
          }),
        },
      },
      async (request, reply) => {
        const orgId = principalOf(request).orgId;
        await runs.get(orgId, request.params.id); // 404 before the stream opens
        const stream = openSse(request, reply);
        await followRun(stream, runs, orgId, request.params.id, resumeFrom(request));
        return reply;
      },
    );
  };
