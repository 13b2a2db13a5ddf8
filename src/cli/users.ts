/**
 * `airmy users create|list`: people, straight in the database (the first owner of an organization
 * has nobody to invite them). The password is never an argument (it would sit in shell history and
 * in `ps`): typed at a prompt without echo, twice, on a terminal; else the first line of stdin.
 */
import type { Resources } from '../resources.ts';
import { Roles } from '../users/roles.ts';
import { dbNote, withResources } from './bootstrap.ts';
import { type CliContext, type Command, json, parse, table, UsageError, write } from './context.ts';
import { asker } from './login.ts';

/** --org takes an id or an organization's exact name (refused when two share it). */
async function resolveOrg(r: Resources, org: string) {
  if (org.startsWith('org_')) return (await r.services.organizations.get(org)).id;
  const named = (await r.services.organizations.list()).filter((o) => o.name === org);
  if (named.length === 1) return named[0].id;
  throw new UsageError(
    named.length === 0
      ? `no organization named '${org}'`
      : `${named.length} organizations are named '${org}': pass its org_… id`,
  );
}

async function readPassword(ctx: CliContext) {
  const io = asker(ctx);
  try {
    const first = await io.secret('Password (at least 12 characters, not shown)');
    if ((ctx.stdin as NodeJS.ReadStream).isTTY) {
      const again = await io.secret('Password again');
      if (again !== first) throw new UsageError('the two passwords differ');
    }
    if (!first) throw new UsageError('no password given (type it at the prompt, or pipe it on stdin)');
    return first;
  } finally {
    io.close();
  }
}

const usersCreate: Command = {
  name: 'users create',
  summary: 'create a user (the first owner of an organization); prints its usr_… id',
  help: `Usage: airmy users create --org <org_id|name> --email <email> --role <role> [--name <name>]

Roles: ${Roles.join(', ')}. The password is asked without echo on a terminal, or read from the
first line of stdin otherwise (echo "$PASSWORD" | airmy users create …); never an argument.
${dbNote}`,
  async run(args, ctx) {
    const { values } = parse(args, {
      org: { type: 'string' },
      email: { type: 'string' },
      role: { type: 'string' },
      name: { type: 'string' },
      password: { type: 'string' },
    });
    if (values.password !== undefined)
      throw new UsageError('the password is never an argument: type it at the prompt or pipe it on stdin');
    if (!values.org || !values.email || !values.role)
      throw new UsageError('users create needs --org, --email and --role');
    const password = await readPassword(ctx);
    await withResources(ctx, async (r) => {
      const orgId = await resolveOrg(r, values.org!);
      const user = await r.services.users.create({
        orgId,
        email: values.email!,
        role: values.role!,
        name: values.name,
        password,
      });
      write(ctx, `${user.id}\n`);
      ctx.stderr.write(
        `created ${user.role} ${user.email} in ${orgId}; they log in with POST /v2/auth/login\n`,
      );
    });
    return 0;
  },
};

const usersList: Command = {
  name: 'users list',
  summary: "list an organization's users and roles",
  help: `Usage: airmy users list --org <org_id|name> [--json]\n\n${dbNote}`,
  async run(args, ctx) {
    const { values } = parse(args, { org: { type: 'string' }, json: { type: 'boolean' } });
    if (!values.org) throw new UsageError('users list needs --org');
    await withResources(ctx, async (r) => {
      const orgId = await resolveOrg(r, values.org!);
      const users = await r.services.users.list(orgId);
      if (values.json) {
        json(
          ctx,
          users.map((u) => ({ id: u.id, email: u.email, name: u.name, role: u.role })),
        );
        return;
      }
      write(
        ctx,
        table(
          ctx,
          ['ID', 'EMAIL', 'ROLE', 'NAME'],
          users.map((u) => [u.id, u.email, u.role, u.name]),
        ),
      );
    });
    return 0;
  },
};

export const userCommands = [usersCreate, usersList];
