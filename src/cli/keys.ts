/**
 * `airmy keys create|list|rotate|revoke`. Two paths share these words: with `--org <org_id>` the
 * command works on the database directly (bootstrap: the first key of an organization, before any
 * key exists); without it, it goes over the API with your profile's key (needs keys:admin).
 */
import type { Scope } from '../auth/scopes.ts';
import { bootstrapKeysCreate, bootstrapKeysList, bootstrapKeysRevoke } from './bootstrap.ts';
import { type Command, clientOptions, json, parse, status, table, UsageError, write } from './context.ts';
import { one } from './files.ts';
import { clientFor } from './profile.ts';

const hasOrg = (args: string[]) => args.some((a) => a === '--org' || a.startsWith('--org='));
const common = `  --profile <name>   use this login profile (API path)
  --json             print JSON (API path)`;
const pathNote = `With --org <org_id> this works on the database directly (bootstrap, like the server's
environment: AIRMY_DATA_DIR / AIRMY_DATABASE_URL); without it, over the API with your login
(the key needs keys:admin).`;

const create: Command = {
  name: 'keys create',
  summary: 'create an API key; prints the secret once (--org: bootstrap)',
  help: `Usage: airmy keys create [--name <name>] [--scopes a,b,…]
       airmy keys create --org <org_id> [--name <name>] [--scopes a,b,…]

Prints the new secret once on stdout (its id on stderr). Without --scopes the key gets every
scope ('airmy scopes' lists them). ${pathNote}

Options:
  --name <name>      a label
  --scopes <list>    comma-separated scopes
  --org <org_id>     bootstrap: create it in the database for this organization
${common}`,
  async run(args, ctx) {
    if (hasOrg(args)) return bootstrapKeysCreate(args, ctx);
    const { values } = parse(args, {
      ...clientOptions,
      name: { type: 'string' },
      scopes: { type: 'string' },
    });
    const key = await clientFor(ctx, values.profile).apiKeys.create({
      ...(values.name ? { name: values.name } : {}),
      // Passed as typed: an unknown name is the server's to refuse (422 invalid_scope, naming it).
      ...(values.scopes ? { scopes: values.scopes.split(',').map((s) => s.trim()) as Scope[] } : {}),
    });
    if (values.json) json(ctx, key);
    else write(ctx, `${key.secret}\n`);
    ctx.stderr.write(`created ${key.id} (${key.scopes.length} scopes). The secret above is shown once.\n`);
    return 0;
  },
};

const list: Command = {
  name: 'keys list',
  summary: "list the organization's keys, never their secrets (--org: bootstrap)",
  help: `Usage: airmy keys list [--json]
       airmy keys list --org <org_id>

${pathNote}

Options:
  --org <org_id>     bootstrap: read the database
${common}`,
  async run(args, ctx) {
    if (hasOrg(args)) return bootstrapKeysList(args, ctx);
    const { values } = parse(args, clientOptions);
    const keys = [];
    for await (const k of clientFor(ctx, values.profile).apiKeys.list({ limit: 100 })) keys.push(k);
    if (values.json) {
      json(ctx, keys);
      return 0;
    }
    write(
      ctx,
      table(
        ctx,
        ['ID', 'KEY', 'STATE', 'SCOPES', 'NAME'],
        keys.map((k) => [
          k.id,
          k.redacted_value,
          status(ctx, k.revoked_at ? 'revoked' : 'active'),
          String(k.scopes.length),
          k.name ?? '',
        ]),
      ),
    );
    return 0;
  },
};

const rotate: Command = {
  name: 'keys rotate',
  summary: 'rotate a key: a new secret now, the old one works 24 h more',
  help: `Usage: airmy keys rotate <key_id>

Prints the new secret once. The old secret keeps working for 24 hours. Over the API only.

Options:
${common}`,
  async run(args, ctx) {
    const { values, positionals } = parse(args, clientOptions);
    const key = await clientFor(ctx, values.profile).apiKeys.rotate(one(positionals, 'key id'));
    if (values.json) json(ctx, key);
    else write(ctx, `${key.secret}\n`);
    ctx.stderr.write(
      `rotated ${key.id}; the old secret works until ${key.previous_secret_expires_at ?? 'now'}. The secret above is shown once.\n`,
    );
    return 0;
  },
};

const revoke: Command = {
  name: 'keys revoke',
  summary: 'revoke a key at once (--org: bootstrap)',
  help: `Usage: airmy keys revoke <key_id>
       airmy keys revoke --org <org_id> --id <key_id>

${pathNote}

Options:
  --org <org_id>     bootstrap: revoke in the database
  --id <key_id>      the key (bootstrap form)
${common}`,
  async run(args, ctx) {
    if (hasOrg(args)) return bootstrapKeysRevoke(args, ctx);
    const { values, positionals } = parse(args, { ...clientOptions, id: { type: 'string' } });
    const id = values.id ?? positionals[0];
    if (!id) throw new UsageError('keys revoke needs a key id');
    const key = await clientFor(ctx, values.profile).apiKeys.revoke(id);
    if (values.json) json(ctx, key);
    else write(ctx, `${key.id} revoked\n`);
    return 0;
  },
};

export const keyCommands = [create, list, rotate, revoke];
