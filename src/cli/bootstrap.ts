/**
 * The commands that work on the server's own database rather than over the API: start the server,
 * migrate, and bootstrap organizations and keys before any key exists. They read the same
 * environment as the server (AIRMY_DATA_DIR, AIRMY_DATABASE_URL, …). The server's modules are
 * imported when one of these runs, so the client commands start without loading them.
 */
import { Scopes } from '../auth/scopes.ts';
import { Plans } from '../organizations/plans.ts';
import type { Resources } from '../resources.ts';
import { type CliContext, type Command, parse, UsageError, write } from './context.ts';

export async function withResources<T>(ctx: CliContext, fn: (r: Resources) => Promise<T>) {
  const { parseConfig } = await import('../config.ts');
  const { buildResources } = await import('../resources.ts');
  const config = parseConfig(ctx.env);
  const resources = await buildResources({ ...config, demo: false });
  try {
    return await fn(resources);
  } finally {
    await resources.close();
  }
}

export const dbNote =
  'Works on the database directly (AIRMY_DATA_DIR / AIRMY_DATABASE_URL), like the server.';

/** Runs until SIGTERM / SIGINT, then a graceful stop and exit 0 (1 if the stop itself failed). */
function untilSignal(stop: () => Promise<void>, graceMs: number) {
  const shutdown = (signal: string) => {
    const timer = setTimeout(() => process.exit(1), graceMs + 10_000);
    timer.unref();
    stop().then(
      () => process.exit(0),
      (err) => {
        process.stderr.write(`error while stopping after ${signal}: ${err}\n`);
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  process.once('SIGINT', () => shutdown('SIGINT'));
}

export const serve: Command = {
  name: 'serve',
  summary: 'start the API server (the default; also: npm start)',
  help: `Usage: airmy serve [--no-worker]

Starts the API server, with a worker executing runs in the same process. Configuration comes from
the environment (AIRMY_PORT, AIRMY_DATA_DIR, AIRMY_DATABASE_URL, …; see README). SIGTERM / SIGINT
stop it gracefully.

  --no-worker   the API only: runs are executed by 'airmy worker' processes (cluster mode:
                AIRMY_DATABASE_URL=postgres://… and AIRMY_REDIS_URL; see docs/cluster.md)`,
  async run(args, ctx) {
    const { values } = parse(args, { 'no-worker': { type: 'boolean' } });
    const { parseConfig, checkRole } = await import('../config.ts');
    const { startServer } = await import('../server.ts');
    const config = parseConfig(ctx.env);
    const worker = values['no-worker'] !== true;
    checkRole(config, worker ? 'all' : 'api');
    const server = await startServer(config, { worker });
    untilSignal(server.stop, config.shutdownGraceMs);
    return undefined;
  },
};

export const worker: Command = {
  name: 'worker',
  summary: 'start a worker: executes runs and background jobs, serves no API (cluster mode)',
  help: `Usage: airmy worker

Executes runs, pipeline steps, deployment checks, webhooks and periodic work, with no API listener.
Needs cluster mode (AIRMY_DATABASE_URL=postgres://… and AIRMY_REDIS_URL; see docs/cluster.md).
AIRMY_HEALTH_PORT serves /healthz and /readyz. SIGTERM / SIGINT: stops taking jobs, lets those in
flight finish (AIRMY_SHUTDOWN_GRACE_MS), exits 0.`,
  async run(args, ctx) {
    parse(args, {});
    const { parseConfig, checkRole } = await import('../config.ts');
    const { startWorker } = await import('../server.ts');
    const config = parseConfig(ctx.env);
    checkRole(config, 'worker');
    const w = await startWorker(config);
    untilSignal(w.stop, config.shutdownGraceMs);
    return undefined;
  },
};

export const migrate: Command = {
  name: 'migrate',
  summary: 'apply database migrations and exit',
  help: `Usage: airmy migrate\n\n${dbNote}`,
  async run(args, ctx) {
    parse(args, {});
    await withResources(ctx, async () => write(ctx, 'migrations applied\n'));
    return 0;
  },
};

const orgsCreate: Command = {
  name: 'orgs create',
  summary: 'create an organization; prints its org_… id',
  help: `Usage: airmy orgs create --name <name> [--plan <plan>] [--rpm <n> --burst <n>]

Plans: ${Plans.join(', ')} (--rpm / --burst: enterprise only). ${dbNote}`,
  async run(args, ctx) {
    const { values } = parse(args, {
      name: { type: 'string' },
      plan: { type: 'string', default: 'free' },
      rpm: { type: 'string' },
      burst: { type: 'string' },
    });
    if (!values.name) throw new UsageError('orgs create needs --name');
    await withResources(ctx, async (r) => {
      const org = await r.services.organizations.create({
        name: values.name!,
        plan: values.plan ?? 'free',
        rpm: values.rpm ? Number(values.rpm) : undefined,
        burst: values.burst ? Number(values.burst) : undefined,
      });
      write(ctx, `${org.id}\n`);
    });
    return 0;
  },
};

const orgsList: Command = {
  name: 'orgs list',
  summary: 'list organizations',
  help: `Usage: airmy orgs list\n\n${dbNote}`,
  async run(args, ctx) {
    parse(args, {});
    await withResources(ctx, async (r) => {
      for (const o of await r.services.organizations.list()) write(ctx, `${o.id}\t${o.plan}\t${o.name}\n`);
    });
    return 0;
  },
};

/** `keys create --org`: a key straight into the database (the first key of an organization). */
export async function bootstrapKeysCreate(args: string[], ctx: CliContext) {
  const { values } = parse(args, {
    org: { type: 'string' },
    name: { type: 'string' },
    scopes: { type: 'string' },
  });
  await withResources(ctx, async (r) => {
    await r.services.organizations.get(values.org!);
    const key = await r.services.apiKeys.create(values.org!, {
      name: values.name,
      scopes: values.scopes?.split(',').map((s) => s.trim()),
    });
    write(ctx, `${key.secret}\n`);
    ctx.stderr.write(`created ${key.id} (${key.scopes.length} scopes). The secret above is shown once.\n`);
  });
  return 0;
}

export async function bootstrapKeysList(args: string[], ctx: CliContext) {
  const { values } = parse(args, { org: { type: 'string' } });
  await withResources(ctx, async (r) => {
    const page = await r.services.apiKeys.list(values.org!, { limit: 100 });
    for (const k of page.data)
      write(ctx, `${k.id}\t${k.redacted_value}\t${k.revoked_at ? 'revoked' : 'active'}\t${k.name}\n`);
  });
  return 0;
}

export async function bootstrapKeysRevoke(args: string[], ctx: CliContext) {
  const { values, positionals } = parse(args, { org: { type: 'string' }, id: { type: 'string' } });
  const id = values.id ?? positionals[0];
  if (!id) throw new UsageError('keys revoke --org needs --id <key_id>');
  await withResources(ctx, async (r) => {
    const key = await r.services.apiKeys.revoke(values.org!, id);
    write(ctx, `${key.id} revoked\n`);
  });
  return 0;
}

const auditVerify: Command = {
  name: 'audit verify',
  summary: 'walk audit hash chains; exit code 1 if any is broken',
  help: `Usage: airmy audit verify [--org <org_id>]

Walks one organization's audit hash chain, or every chain including the system chain.
Exit code 1 if any is broken. ${dbNote}`,
  async run(args, ctx) {
    const { values } = parse(args, { org: { type: 'string' } });
    const broken = await withResources(ctx, async (r) => {
      const chains = values.org ? [values.org] : await r.services.audit.chains();
      let bad = 0;
      for (const org of chains) {
        const v = await r.services.audit.verify(org);
        if (v.first_broken) {
          bad++;
          const { id, seq, reason } = v.first_broken;
          write(ctx, `${org}\tBROKEN\tat seq ${seq}${id ? ` (${id})` : ''}: ${reason}\n`);
        } else write(ctx, `${org}\tok\t${v.checked} entries\n`);
      }
      if (chains.length === 0) write(ctx, 'no audit chains\n');
      return bad;
    });
    return broken > 0 ? 1 : 0;
  },
};

const scopes: Command = {
  name: 'scopes',
  summary: 'list every scope',
  help: 'Usage: airmy scopes\n\nLists every scope a key can have (<resource>:<verb>).',
  run(args, ctx) {
    parse(args, {});
    write(ctx, `${Scopes.join('\n')}\n`);
    return 0;
  },
};

export const bootstrapCommands = [serve, worker, migrate, orgsCreate, orgsList, auditVerify, scopes];
