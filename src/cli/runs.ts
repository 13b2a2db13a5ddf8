/** `airmy runs create|list|get|cancel|watch`. */
import type Airmy from '../../sdk/typescript/index.ts';
import type { Run, RunEvent, RunListParams } from '../../sdk/typescript/index.ts';
import {
  type CliContext,
  type Command,
  clientOptions,
  dim,
  json,
  parse,
  status,
  table,
  UsageError,
  write,
} from './context.ts';
import { one, parseInput, parseMetadata } from './files.ts';
import { clientFor } from './profile.ts';

const common = `  --profile <name>   use this login profile
  --json             print JSON`;

/** The text of a run's output: `output.result` when it is a string, else the output as JSON. */
function outputText(run: Run): string {
  const out = run.output as { result?: unknown } | null;
  if (out && typeof out.result === 'string') return out.result;
  return out === null ? '' : JSON.stringify(out);
}

function summary(ctx: CliContext, run: Run): string {
  const parts = [run.id, status(ctx, run.status)];
  if (run.tokens_used) parts.push(`${run.tokens_used} tokens`);
  if (run.latency_ms !== null && run.latency_ms !== undefined) parts.push(`${run.latency_ms} ms`);
  if (run.error)
    parts.push(`${(run.error as { code?: string }).code}: ${(run.error as { message?: string }).message}`);
  return parts.join('  ');
}

/** Prints a run's events as they come: deltas to stdout at once, the end as a summary on stderr. */
async function printEvents(ctx: CliContext, client: Airmy, events: AsyncIterable<RunEvent>): Promise<number> {
  let runId: string | undefined;
  let printed = false;
  for await (const e of events) {
    runId ??= e.run_id ?? e.run?.id;
    if (e.type === 'run.output.delta' && typeof e.delta === 'string') {
      ctx.stdout.write(e.delta);
      printed = true;
    }
  }
  if (!runId) return 1;
  const run = await client.runs.retrieve(runId);
  // a run that was not streamed has no deltas: its answer is in the run
  if (!printed && run.output) ctx.stdout.write(outputText(run));
  if (printed || run.output) ctx.stdout.write('\n');
  ctx.stderr.write(`${summary(ctx, run)}\n`);
  return run.status === 'completed' ? 0 : 1;
}

const create: Command = {
  name: 'runs create',
  summary: 'invoke an agent: print its answer (tokens as they arrive with --stream)',
  help: `Usage: airmy runs create --agent <agent_id> --input <json|text> [--stream | --background] [options]

--input is the run's input: a JSON object as is, any other text as {"query": "<text>"}.
Sync by default: prints the answer when the run is done (the run id, status and tokens go to
stderr). --stream prints the answer token by token as it is produced; --background prints the
queued run's id at once (follow it with 'airmy runs watch <id>').
Exit code 1 when the run did not complete.

Options:
  --agent <id>           the agent to run
  --input <json|text>    the run input
  --stream               print tokens as they arrive
  --background           do not wait; print the run id
  --environment <env>    run the active deployment of this environment
  --metadata <k=v>       a metadata pair (repeatable)
  --idempotency-key <k>  send this Idempotency-Key (default: one per call, reused by retries)
${common}`,
  async run(args, ctx) {
    const { values } = parse(args, {
      ...clientOptions,
      agent: { type: 'string' },
      input: { type: 'string' },
      stream: { type: 'boolean' },
      background: { type: 'boolean' },
      environment: { type: 'string' },
      metadata: { type: 'string', multiple: true },
      'idempotency-key': { type: 'string' },
    });
    if (!values.agent) throw new UsageError('runs create needs --agent <agent_id>');
    if (values.stream && values.background)
      throw new UsageError('--stream and --background exclude each other');
    const client = clientFor(ctx, values.profile);
    const params = {
      agent_id: values.agent,
      input: parseInput(values.input),
      ...(values.environment ? { environment: values.environment } : {}),
      ...(values.metadata ? { metadata: parseMetadata(values.metadata) } : {}),
    };
    const options = values['idempotency-key'] ? { idempotencyKey: values['idempotency-key'] } : {};
    if (values.stream) {
      if (values.json) {
        for await (const e of client.runs.stream(params, options)) ctx.stdout.write(`${JSON.stringify(e)}\n`);
        return 0;
      }
      return printEvents(ctx, client, client.runs.stream(params, options));
    }
    const run = await client.runs.create(
      { ...params, ...(values.background ? { background: true } : {}) },
      options,
    );
    if (values.json) json(ctx, run);
    else if (values.background) write(ctx, `${run.id}\n`);
    else {
      write(ctx, `${outputText(run)}\n`);
      ctx.stderr.write(`${summary(ctx, run)}\n`);
    }
    return values.background || run.status === 'completed' ? 0 : 1;
  },
};

const STATUSES = ['queued', 'running', 'completed', 'failed', 'cancelled', 'timed_out', 'expired'];

const list: Command = {
  name: 'runs list',
  summary: 'list runs with filters, as a table or JSON',
  help: `Usage: airmy runs list [--agent <id>] [--status <s>[,<s>…]] [--since <time>] [--limit <n>] [--json]

Newest first. Statuses: ${STATUSES.join(', ')}.

Options:
  --agent <id>           only runs of this agent
  --status <list>        only these statuses (comma-separated)
  --since <time>         only runs created at or after this RFC 3339 time
  --until <time>         only runs created before this time
  --pipeline-run <id>    only the step runs of this pipeline run
  --metadata <k=v>       only runs with this metadata pair (repeatable)
  --limit <n>            at most n runs (default 20)
${common}`,
  async run(args, ctx) {
    const { values } = parse(args, {
      ...clientOptions,
      agent: { type: 'string' },
      status: { type: 'string' },
      since: { type: 'string' },
      until: { type: 'string' },
      'pipeline-run': { type: 'string' },
      metadata: { type: 'string', multiple: true },
      limit: { type: 'string', default: '20' },
    });
    const limit = Number(values.limit);
    if (!Number.isInteger(limit) || limit < 1) throw new UsageError('--limit wants a positive integer');
    const statuses = values.status?.split(',').map((s) => s.trim());
    for (const s of statuses ?? [])
      if (!STATUSES.includes(s))
        throw new UsageError(`unknown status '${s}' (one of ${STATUSES.join(', ')})`);
    const params: RunListParams = {
      limit: Math.min(limit, 100),
      agent_id: values.agent,
      status: statuses as RunListParams['status'],
      created_after: values.since,
      created_before: values.until,
      pipeline_run_id: values['pipeline-run'],
      metadata: parseMetadata(values.metadata),
    };
    const runs: Run[] = [];
    for await (const r of clientFor(ctx, values.profile).runs.list(params)) {
      runs.push(r);
      if (runs.length >= limit) break;
    }
    if (values.json) {
      json(ctx, runs);
      return 0;
    }
    write(
      ctx,
      table(
        ctx,
        ['ID', 'AGENT', 'STATUS', 'TOKENS', 'LATENCY', 'CREATED'],
        runs.map((r) => [
          r.id,
          r.agent_id,
          status(ctx, r.status),
          String(r.tokens_used ?? ''),
          r.latency_ms === null || r.latency_ms === undefined ? '' : `${r.latency_ms} ms`,
          r.created_at,
        ]),
      ),
    );
    if (runs.length === 0) ctx.stderr.write(dim(ctx, 'no runs\n'));
    return 0;
  },
};

const get: Command = {
  name: 'runs get',
  summary: 'print a run as JSON',
  help: `Usage: airmy runs get <run_id>\n\nOptions:\n  --profile <name>   use this login profile`,
  async run(args, ctx) {
    const { values, positionals } = parse(args, clientOptions);
    json(ctx, await clientFor(ctx, values.profile).runs.retrieve(one(positionals, 'run id')));
    return 0;
  },
};

const cancel: Command = {
  name: 'runs cancel',
  summary: 'cancel a queued or running run',
  help: `Usage: airmy runs cancel <run_id>\n\nA finished run cannot be cancelled (exit code 1, 422 run_not_cancellable).\n\nOptions:\n${common}`,
  async run(args, ctx) {
    const { values, positionals } = parse(args, clientOptions);
    const run = await clientFor(ctx, values.profile).runs.cancel(one(positionals, 'run id'));
    if (values.json) json(ctx, run);
    else write(ctx, `${run.id} ${status(ctx, run.status)}\n`);
    return 0;
  },
};

const watch: Command = {
  name: 'runs watch',
  summary: "follow a run's events: tokens as they arrive, then its status",
  help: `Usage: airmy runs watch <run_id> [--json]

Follows the run's event stream from the start (a finished run replays at once), printing its
answer as it is produced and its status at the end; resumes by itself after a dropped connection.
--json prints each event as a JSON line. Exit code 1 when the run did not complete.

Options:
${common}`,
  async run(args, ctx) {
    const { values, positionals } = parse(args, clientOptions);
    const client = clientFor(ctx, values.profile);
    const id = one(positionals, 'run id');
    if (values.json) {
      for await (const e of client.runs.events(id)) ctx.stdout.write(`${JSON.stringify(e)}\n`);
      return 0;
    }
    return printEvents(ctx, client, client.runs.events(id));
  },
};

export const runCommands = [create, list, get, cancel, watch];
