/** `airmy deploy`, `airmy deployments list|get|rollback`, `airmy logs`. */
import type { Deployment, DeploymentEvent } from '../../sdk/typescript/index.ts';
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
import { one } from './files.ts';
import { clientFor } from './profile.ts';

const common = `  --profile <name>   use this login profile
  --json             print JSON`;

function logLine(ctx: CliContext, e: DeploymentEvent): string {
  const time = typeof e.ts === 'string' ? e.ts.slice(11, 19) : '';
  const what = e.type === 'deployment.status' && e.status ? status(ctx, e.status) : (e.step ?? '');
  return `${dim(ctx, time)}  ${what}  ${e.message ?? ''}\n`;
}

const deploy: Command = {
  name: 'deploy',
  summary: "deploy an agent's current configuration; --wait shows its validation live",
  help: `Usage: airmy deploy --agent <agent_id> [--environment <env>] [--description <text>] [--wait]

Freezes the agent's configuration as a new version. Validation (configuration, model provider,
guardrail policy, smoke test) runs in the background; with --wait each step is printed as it
happens, from the deployment's log stream, until the version is active (exit 0) or has failed
(exit 1). Without --wait prints the deployment id.

Options:
  --agent <id>           the agent to deploy
  --environment <env>    the environment (default production)
  --description <text>   what this version is
  --wait                 follow the validation until active or failed
${common}`,
  async run(args, ctx) {
    const { values } = parse(args, {
      ...clientOptions,
      agent: { type: 'string' },
      environment: { type: 'string' },
      description: { type: 'string' },
      wait: { type: 'boolean' },
    });
    if (!values.agent) throw new UsageError('deploy needs --agent <agent_id>');
    const client = clientFor(ctx, values.profile);
    const dep = await client.deployments.create({
      agent_id: values.agent,
      ...(values.environment ? { environment: values.environment } : {}),
      ...(values.description ? { description: values.description } : {}),
    });
    if (!values.wait) {
      if (values.json) json(ctx, dep);
      else write(ctx, `${dep.id}\n`);
      return 0;
    }
    ctx.stderr.write(
      `deploying ${dep.agent_id} as version ${dep.version} to ${dep.environment} (${dep.id})\n`,
    );
    const stream = client.deployments.streamLogs(dep.id);
    let final: string | undefined;
    for await (const e of stream) {
      if (values.json) ctx.stdout.write(`${JSON.stringify(e)}\n`);
      else write(ctx, logLine(ctx, e));
      if (e.type === 'deployment.status' && (e.status === 'active' || e.status === 'failed')) {
        final = e.status;
        break;
      }
    }
    stream.close();
    const done = await client.deployments.retrieve(dep.id);
    ctx.stderr.write(
      `${done.id}  version ${done.version}  ${status(ctx, done.status)}${done.failed_reason ? `  ${done.failed_reason}` : ''}\n`,
    );
    return (final ?? done.status) === 'active' ? 0 : 1;
  },
};

const list: Command = {
  name: 'deployments list',
  summary: 'list deployments',
  help: `Usage: airmy deployments list [--agent <id>] [--environment <env>] [--json]\n\nOptions:\n  --agent <id>\n  --environment <env>\n${common}`,
  async run(args, ctx) {
    const { values } = parse(args, {
      ...clientOptions,
      agent: { type: 'string' },
      environment: { type: 'string' },
    });
    const deps: Deployment[] = [];
    for await (const d of clientFor(ctx, values.profile).deployments.list({
      agent_id: values.agent,
      environment: values.environment,
      limit: 100,
    }))
      deps.push(d);
    if (values.json) {
      json(ctx, deps);
      return 0;
    }
    write(
      ctx,
      table(
        ctx,
        ['ID', 'AGENT', 'VERSION', 'ENVIRONMENT', 'STATUS', 'CREATED'],
        deps.map((d) => [
          d.id,
          d.agent_id,
          String(d.version),
          d.environment,
          status(ctx, d.status),
          d.created_at,
        ]),
      ),
    );
    return 0;
  },
};

const get: Command = {
  name: 'deployments get',
  summary: 'print a deployment as JSON',
  help: `Usage: airmy deployments get <deployment_id>\n\nOptions:\n  --profile <name>   use this login profile`,
  async run(args, ctx) {
    const { values, positionals } = parse(args, clientOptions);
    json(ctx, await clientFor(ctx, values.profile).deployments.retrieve(one(positionals, 'deployment id')));
    return 0;
  },
};

const rollback: Command = {
  name: 'deployments rollback',
  summary: 'roll back the active deployment: the previous version serves again',
  help: `Usage: airmy deployments rollback <deployment_id>

Rolls back the active deployment; prints the deployment that is active again. A deployment that
is not active, or the first version of an environment, cannot be rolled back (exit code 1).

Options:
${common}`,
  async run(args, ctx) {
    const { values, positionals } = parse(args, clientOptions);
    const id = one(positionals, 'deployment id');
    const back = await clientFor(ctx, values.profile).deployments.rollback(id);
    if (values.json) json(ctx, back);
    else write(ctx, `rolled back ${id}; active: ${back.id} (version ${back.version})\n`);
    return 0;
  },
};

const logs: Command = {
  name: 'logs',
  summary: "print a deployment's log; -f follows it live",
  help: `Usage: airmy logs [-f] <deployment_id>

Prints the deployment's log: validation steps, status changes and, while it is active, the runs it
serves. -f keeps following (resuming by itself after a dropped connection) until the deployment
is no longer active or you press Ctrl-C.

Options:
  -f, --follow       keep following
${common}`,
  async run(args, ctx) {
    const { values, positionals } = parse(args, {
      ...clientOptions,
      follow: { type: 'boolean', short: 'f' },
    });
    const id = one(positionals, 'deployment id');
    const stream = clientFor(ctx, values.profile).deployments.streamLogs(id, {
      follow: Boolean(values.follow),
    });
    for await (const e of stream) {
      if (values.json) ctx.stdout.write(`${JSON.stringify(e)}\n`);
      else write(ctx, logLine(ctx, e));
    }
    return 0;
  },
};

export const deploymentCommands = [deploy, list, get, rollback, logs];
