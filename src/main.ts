/**
 * The `airmy` command: the composition root. It parses config once, builds resources, and either
 * serves, migrates, or runs a bootstrap command (organizations, keys). Every command reads the same
 * environment as the server.
 */
import { parseArgs } from 'node:util';
import { Scopes } from './auth/scopes.ts';
import { type Config, ConfigError, parseConfig } from './config.ts';
import { ApiError } from './errors.ts';
import { Plans } from './organizations/plans.ts';
import { buildResources } from './resources.ts';
import { startServer } from './server.ts';

const HELP = `airmy — the AIRMY agent platform

Usage: npx airmy <command> [options]

Commands:
  serve                                  start the API server (default; also: npm start)
  migrate                                apply database migrations and exit
  orgs create --name <name> [--plan <plan>] [--rpm <n> --burst <n>]
                                         create an organization; prints its org_… id
                                         plans: ${Plans.join(', ')} (rpm/burst: enterprise only)
  orgs list                              list organizations
  keys create --org <org_id> [--name <name>] [--scopes a,b,…]
                                         create an API key; prints the secret once
                                         (without --scopes the key gets every scope)
  keys list --org <org_id>               list an organization's keys (never their secrets)
  keys revoke --org <org_id> --id <key_id>
                                         revoke a key at once
  audit verify [--org <org_id>]          walk audit hash chains (one org, or every chain including
                                         the system chain); exit code 1 if any is broken
  scopes                                 list every scope
  help                                   this text

Configuration comes from the environment (AIRMY_DATA_DIR, AIRMY_DATABASE_URL, …; see README).`;

async function withResources<T>(
  config: Config,
  fn: (r: Awaited<ReturnType<typeof buildResources>>) => Promise<T>,
) {
  const resources = await buildResources({ ...config, demo: false });
  try {
    return await fn(resources);
  } finally {
    await resources.close();
  }
}

async function main(argv: string[]) {
  const [command = 'serve', sub, ...rest] = argv;
  if (command === 'help' || command === '--help' || command === '-h') {
    process.stdout.write(`${HELP}\n`);
    return;
  }
  const config = parseConfig(process.env);
  const { values } = parseArgs({
    args: sub?.startsWith('--') ? [sub, ...rest] : rest,
    options: {
      name: { type: 'string' },
      plan: { type: 'string', default: 'free' },
      rpm: { type: 'string' },
      burst: { type: 'string' },
      org: { type: 'string' },
      id: { type: 'string' },
      scopes: { type: 'string' },
    },
    allowPositionals: false,
  });
  switch (`${command}${sub && !sub.startsWith('--') ? ` ${sub}` : ''}`) {
    case 'serve': {
      const server = await startServer(config);
      const shutdown = (signal: string) => {
        const timer = setTimeout(() => process.exit(1), config.shutdownGraceMs + 5_000);
        timer.unref();
        server.stop().then(
          () => process.exit(0),
          (err) => {
            process.stderr.write(`error while stopping after ${signal}: ${err}\n`);
            process.exit(1);
          },
        );
      };
      process.once('SIGTERM', () => shutdown('SIGTERM'));
      process.once('SIGINT', () => shutdown('SIGINT'));
      return;
    }
    case 'migrate':
      await withResources(config, async () => process.stdout.write('migrations applied\n'));
      return;
    case 'orgs create':
      await withResources(config, async (r) => {
        if (!values.name) throw new UsageError('orgs create needs --name');
        const org = await r.services.organizations.create({
          name: values.name,
          plan: values.plan ?? 'free',
          rpm: values.rpm ? Number(values.rpm) : undefined,
          burst: values.burst ? Number(values.burst) : undefined,
        });
        process.stdout.write(`${org.id}\n`);
      });
      return;
    case 'orgs list':
      await withResources(config, async (r) => {
        for (const o of await r.services.organizations.list())
          process.stdout.write(`${o.id}\t${o.plan}\t${o.name}\n`);
      });
      return;
    case 'keys create':
      await withResources(config, async (r) => {
        if (!values.org) throw new UsageError('keys create needs --org <org_id>');
        await r.services.organizations.get(values.org);
        const key = await r.services.apiKeys.create(values.org, {
          name: values.name,
          scopes: values.scopes?.split(',').map((s) => s.trim()),
        });
        process.stdout.write(`${key.secret}\n`);
        process.stderr.write(
          `created ${key.id} (${key.scopes.length} scopes). The secret above is shown once.\n`,
        );
      });
      return;
    case 'keys list':
      await withResources(config, async (r) => {
        if (!values.org) throw new UsageError('keys list needs --org <org_id>');
        const page = await r.services.apiKeys.list(values.org, { limit: 100 });
        for (const k of page.data)
          process.stdout.write(
            `${k.id}\t${k.redacted_value}\t${k.revoked_at ? 'revoked' : 'active'}\t${k.name}\n`,
          );
      });
      return;
    case 'keys revoke':
      await withResources(config, async (r) => {
        if (!values.org || !values.id) throw new UsageError('keys revoke needs --org and --id');
        const key = await r.services.apiKeys.revoke(values.org, values.id);
        process.stdout.write(`${key.id} revoked\n`);
      });
      return;
    case 'audit verify': {
      const broken = await withResources(config, async (r) => {
        const chains = values.org ? [values.org] : await r.services.audit.chains();
        let bad = 0;
        for (const org of chains) {
          const v = await r.services.audit.verify(org);
          if (v.first_broken) {
            bad++;
            const { id, seq, reason } = v.first_broken;
            process.stdout.write(`${org}\tBROKEN\tat seq ${seq}${id ? ` (${id})` : ''}: ${reason}\n`);
          } else process.stdout.write(`${org}\tok\t${v.checked} entries\n`);
        }
        if (chains.length === 0) process.stdout.write('no audit chains\n');
        return bad;
      });
      if (broken > 0) process.exitCode = 1;
      return;
    }
    case 'scopes':
      process.stdout.write(`${Scopes.join('\n')}\n`);
      return;
    default:
      throw new UsageError(`unknown command '${argv.join(' ')}'`);
  }
}

class UsageError extends Error {}

// The AI SDK prints provider warnings to the console on its own; our logs are JSON through pino.
(globalThis as { AI_SDK_LOG_WARNINGS?: boolean }).AI_SDK_LOG_WARNINGS = false;

main(process.argv.slice(2)).catch((err: unknown) => {
  if (err instanceof ConfigError) process.stderr.write(`configuration error: ${err.message}\n`);
  else if (err instanceof UsageError)
    process.stderr.write(`airmy: ${err.message}\nRun 'npx airmy --help' for usage.\n`);
  else if (err instanceof ApiError) process.stderr.write(`airmy: ${err.message}\n`);
  else process.stderr.write(`airmy: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(err instanceof UsageError || err instanceof ConfigError ? 2 : 1);
});
