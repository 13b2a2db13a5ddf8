/** `airmy pipelines list|get|trigger|runs`. */
import type { PipelineEvent } from '../../sdk/typescript/index.ts';
import {
  type CliContext,
  type Command,
  clientOptions,
  dim,
  green,
  json,
  parse,
  red,
  status,
  table,
  UsageError,
  write,
  yellow,
} from './context.ts';
import { one, parseInput, parseMetadata } from './files.ts';
import { clientFor } from './profile.ts';

const common = `  --profile <name>   use this login profile
  --json             print JSON`;

/** One line for a step event worth a line (a step finished, failed, was skipped or will retry). */
function stepLine(ctx: CliContext, e: PipelineEvent): string | undefined {
  const step = String(e.step_id ?? '');
  const run = e.run_id ? dim(ctx, ` ${e.run_id}`) : '';
  switch (e.type) {
    case 'pipeline.step.completed':
      return `${green(ctx, '✓')} ${step}  completed${run}\n`;
    case 'pipeline.step.failed':
      return `${red(ctx, '✗')} ${step}  failed${run}${e.error ? `  ${(e.error as { message?: string }).message ?? ''}` : ''}\n`;
    case 'pipeline.step.skipped':
      return `${dim(ctx, '-')} ${step}  skipped${e.reason ? `  ${e.reason}` : ''}\n`;
    case 'pipeline.step.cancelled':
      return `${yellow(ctx, '✗')} ${step}  cancelled${run}\n`;
    case 'pipeline.step.retry_scheduled':
      return `${yellow(ctx, '↻')} ${step}  retry at ${e.retry_at}\n`;
    default:
      return undefined;
  }
}

const trigger: Command = {
  name: 'pipelines trigger',
  summary: 'start a pipeline run; --wait prints a line per step as it finishes',
  help: `Usage: airmy pipelines trigger <pipeline_id> [--input <json|text>] [--wait]

Starts a pipeline run and prints its id; with --wait, follows its events and prints a line as each
step finishes (✓ completed, ✗ failed, - skipped, ↻ retry scheduled), then the run's status and
output. Exit code 1 when the pipeline run did not complete.

Options:
  --input <json|text>    the pipeline input (a JSON object, or text as {"query": …}); default {}
  --metadata <k=v>       a metadata pair (repeatable)
  --wait                 follow the run to its end
${common}`,
  async run(args, ctx) {
    const { values, positionals } = parse(args, {
      ...clientOptions,
      input: { type: 'string' },
      metadata: { type: 'string', multiple: true },
      wait: { type: 'boolean' },
    });
    const id = one(positionals, 'pipeline id');
    const client = clientFor(ctx, values.profile);
    const prun = await client.pipelines.trigger(id, {
      input: values.input === undefined ? {} : parseInput(values.input),
      ...(values.metadata ? { metadata: parseMetadata(values.metadata) } : {}),
    });
    if (!values.wait) {
      if (values.json) json(ctx, prun);
      else write(ctx, `${prun.id}\n`);
      return 0;
    }
    ctx.stderr.write(`pipeline run ${prun.id} started\n`);
    for await (const e of client.pipelines.runs.events(id, prun.id)) {
      if (values.json) ctx.stdout.write(`${JSON.stringify(e)}\n`);
      else {
        const line = stepLine(ctx, e);
        if (line) write(ctx, line);
      }
    }
    const done = await client.pipelines.runs.retrieve(id, prun.id);
    if (!values.json) {
      ctx.stderr.write(`${done.id}  ${status(ctx, done.status)}\n`);
      if (done.output !== null && done.output !== undefined) write(ctx, `${JSON.stringify(done.output)}\n`);
    }
    return done.status === 'completed' ? 0 : 1;
  },
};

const list: Command = {
  name: 'pipelines list',
  summary: 'list pipelines',
  help: `Usage: airmy pipelines list [--json]\n\nOptions:\n${common}`,
  async run(args, ctx) {
    const { values } = parse(args, clientOptions);
    const rows = [];
    for await (const p of clientFor(ctx, values.profile).pipelines.list({ limit: 100 })) rows.push(p);
    if (values.json) {
      json(ctx, rows);
      return 0;
    }
    write(
      ctx,
      table(
        ctx,
        ['ID', 'NAME', 'VERSION', 'STEPS', 'CREATED'],
        rows.map((p) => [p.id, p.name, String(p.version), String(p.steps.length), p.created_at]),
      ),
    );
    return 0;
  },
};

const get: Command = {
  name: 'pipelines get',
  summary: 'print a pipeline as JSON',
  help: `Usage: airmy pipelines get <pipeline_id>\n\nOptions:\n  --profile <name>   use this login profile`,
  async run(args, ctx) {
    const { values, positionals } = parse(args, clientOptions);
    json(ctx, await clientFor(ctx, values.profile).pipelines.retrieve(one(positionals, 'pipeline id')));
    return 0;
  },
};

const runs: Command = {
  name: 'pipelines runs',
  summary: "list a pipeline's runs",
  help: `Usage: airmy pipelines runs <pipeline_id> [--limit <n>] [--json]\n\nOptions:\n  --limit <n>        at most n (default 20)\n${common}`,
  async run(args, ctx) {
    const { values, positionals } = parse(args, {
      ...clientOptions,
      limit: { type: 'string', default: '20' },
    });
    const limit = Number(values.limit);
    if (!Number.isInteger(limit) || limit < 1) throw new UsageError('--limit wants a positive integer');
    const rows = [];
    for await (const r of clientFor(ctx, values.profile).pipelines.runs.list(
      one(positionals, 'pipeline id'),
      {
        limit: Math.min(limit, 100),
      },
    )) {
      rows.push(r);
      if (rows.length >= limit) break;
    }
    if (values.json) {
      json(ctx, rows);
      return 0;
    }
    write(
      ctx,
      table(
        ctx,
        ['ID', 'STATUS', 'STEPS', 'CREATED'],
        rows.map((r) => [
          r.id,
          status(ctx, r.status),
          r.steps.map((s) => `${s.id}:${s.status}`).join(' '),
          r.created_at,
        ]),
      ),
    );
    return 0;
  },
};

export const pipelineCommands = [list, get, trigger, runs];
