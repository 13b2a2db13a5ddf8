/** `airmy audit`: the organization's audit log over the API (`airmy audit verify` is the bootstrap one). */
import type { AuditLog } from '../../sdk/typescript/index.ts';
import { type Command, clientOptions, json, parse, status, table, UsageError, write } from './context.ts';
import { clientFor } from './profile.ts';

export const audit: Command = {
  name: 'audit',
  summary: "list the organization's audit log (who changed what)",
  help: `Usage: airmy audit [--action <a>] [--outcome <o>] [--resource <id>] [--limit <n>] [--json]

Newest first, over the API (scope audit:read). 'airmy audit verify' (a bootstrap command against
the database) walks the hash chains instead.

Options:
  --action <a>       e.g. agent.updated
  --actor <id>       only what this key or token did
  --resource <id>    only entries about this object
  --outcome <o>      success, denied or failed
  --since <time>     RFC 3339, inclusive
  --limit <n>        at most n (default 20)
  --profile <name>   use this login profile
  --json             print JSON`,
  async run(args, ctx) {
    const { values } = parse(args, {
      ...clientOptions,
      action: { type: 'string' },
      actor: { type: 'string' },
      resource: { type: 'string' },
      outcome: { type: 'string' },
      since: { type: 'string' },
      limit: { type: 'string', default: '20' },
    });
    const limit = Number(values.limit);
    if (!Number.isInteger(limit) || limit < 1) throw new UsageError('--limit wants a positive integer');
    const rows: AuditLog[] = [];
    for await (const e of clientFor(ctx, values.profile).auditLogs.list({
      limit: Math.min(limit, 100),
      action: values.action,
      actor_id: values.actor,
      resource_id: values.resource,
      outcome: values.outcome as never,
      from: values.since,
    })) {
      rows.push(e);
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
        ['TIME', 'ACTION', 'ACTOR', 'RESOURCE', 'OUTCOME', 'REQUEST'],
        rows.map((e) => [
          e.created_at,
          e.action,
          e.actor?.id ?? '',
          e.resource ? `${e.resource.type}:${e.resource.id ?? ''}` : '',
          status(ctx, e.outcome),
          e.request_id ?? '',
        ]),
      ),
    );
    return 0;
  },
};
