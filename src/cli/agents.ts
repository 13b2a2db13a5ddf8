/** `airmy agents list|get|create|apply|delete`. */
import type { Agent, AgentCreateParams } from '../../sdk/typescript/index.ts';
import { type Command, clientOptions, json, parse, table, UsageError, write } from './context.ts';
import { one, readJsonFile } from './files.ts';
import { clientFor } from './profile.ts';

const common = `  --profile <name>   use this login profile
  --json             print JSON instead of a table`;

const list: Command = {
  name: 'agents list',
  summary: 'list agents (newest first)',
  help: `Usage: airmy agents list [--limit <n>] [--json]\n\nOptions:\n  --limit <n>        at most n agents (default: all)\n${common}`,
  async run(args, ctx) {
    const { values } = parse(args, { ...clientOptions, limit: { type: 'string' } });
    const limit = values.limit ? Number(values.limit) : Number.POSITIVE_INFINITY;
    const agents: Agent[] = [];
    for await (const a of clientFor(ctx, values.profile).agents.list({ limit: Math.min(limit, 100) })) {
      if (agents.length >= limit) break;
      agents.push(a);
    }
    if (values.json) {
      json(ctx, agents);
      return 0;
    }
    write(
      ctx,
      table(
        ctx,
        ['ID', 'NAME', 'MODEL', 'VERSION', 'CREATED'],
        agents.map((a) => [a.id, a.name, a.model ?? '(code)', String(a.version), a.created_at]),
      ),
    );
    return 0;
  },
};

const get: Command = {
  name: 'agents get',
  summary: 'print an agent as JSON',
  help: `Usage: airmy agents get <agent_id>\n\nOptions:\n  --profile <name>   use this login profile`,
  async run(args, ctx) {
    const { values, positionals } = parse(args, clientOptions);
    json(ctx, await clientFor(ctx, values.profile).agents.retrieve(one(positionals, 'agent id')));
    return 0;
  },
};

const create: Command = {
  name: 'agents create',
  summary: 'create an agent from a JSON file',
  help: `Usage: airmy agents create -f <agent.json> [--json]

The file holds the body of POST /v2/agents, e.g.
  {"name": "Support triage", "model": "mock/triage", "instructions": "Classify the ticket."}
Prints the new agent's id (or the agent with --json). -f - reads stdin.

Options:
  -f, --file <path>  the agent definition
${common}`,
  async run(args, ctx) {
    const { values } = parse(args, { ...clientOptions, file: { type: 'string', short: 'f' } });
    const body = readJsonFile(values.file, 'agents create') as AgentCreateParams;
    const agent = await clientFor(ctx, values.profile).agents.create(body);
    if (values.json) json(ctx, agent);
    else write(ctx, `${agent.id}\n`);
    return 0;
  },
};

const FIELDS = [
  'name',
  'model',
  'description',
  'instructions',
  'parameters',
  'tools',
  'guardrails',
  'metadata',
  'smoke_test',
];

const apply: Command = {
  name: 'agents apply',
  summary: 'create or update an agent from a JSON file (by id, else by name)',
  help: `Usage: airmy agents apply -f <agent.json> [--json]

Makes the agent look like the file: with an "id" in the file that agent is updated; otherwise the
agent with the file's "name" is updated, or created when there is none. Fields other than the
agent's own (id, object, version, created_at, …) are ignored, so the output of 'airmy agents get'
can be edited and applied. Prints "created <id>", "updated <id> (version n)" or "unchanged <id>".

Options:
  -f, --file <path>  the agent definition
${common}`,
  async run(args, ctx) {
    const { values } = parse(args, { ...clientOptions, file: { type: 'string', short: 'f' } });
    const file = readJsonFile(values.file, 'agents apply');
    const body = Object.fromEntries(Object.entries(file).filter(([k]) => FIELDS.includes(k)));
    if (typeof body.name !== 'string' && typeof file.id !== 'string')
      throw new UsageError('agents apply needs an "id" or a "name" in the file');
    const client = clientFor(ctx, values.profile);
    let existing: Agent | undefined;
    if (typeof file.id === 'string') existing = await client.agents.retrieve(file.id);
    else for await (const a of client.agents.list({ limit: 100 })) if (a.name === body.name) existing ??= a;
    if (!existing) {
      const agent = await client.agents.create(body as AgentCreateParams);
      if (values.json) json(ctx, agent);
      else write(ctx, `created ${agent.id}\n`);
      return 0;
    }
    const changed = Object.entries(body).filter(
      ([k, v]) => JSON.stringify((existing as Record<string, unknown>)[k] ?? null) !== JSON.stringify(v),
    );
    if (changed.length === 0) {
      if (values.json) json(ctx, existing);
      else write(ctx, `unchanged ${existing.id}\n`);
      return 0;
    }
    const agent = await client.agents.update(existing.id, Object.fromEntries(changed));
    if (values.json) json(ctx, agent);
    else write(ctx, `updated ${agent.id} (version ${agent.version})\n`);
    return 0;
  },
};

const del: Command = {
  name: 'agents delete',
  summary: 'delete an agent (its runs stay readable)',
  help: `Usage: airmy agents delete <agent_id>\n\nOptions:\n  --profile <name>   use this login profile`,
  async run(args, ctx) {
    const { values, positionals } = parse(args, clientOptions);
    const deleted = await clientFor(ctx, values.profile).agents.delete(one(positionals, 'agent id'));
    write(ctx, `deleted ${deleted.id}\n`);
    return 0;
  },
};

export const agentCommands = [list, get, create, apply, del];
