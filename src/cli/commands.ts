/** Every `airmy` command, and the help that lists them. */
import { agentCommands } from './agents.ts';
import { audit } from './audit.ts';
import { bootstrapCommands } from './bootstrap.ts';
import type { Command } from './context.ts';
import { deploymentCommands } from './deployments.ts';
import { errorsList, errorsShow } from './errors.ts';
import { keyCommands } from './keys.ts';
import { login } from './login.ts';
import { metrics } from './metrics.ts';
import { pipelineCommands } from './pipelines.ts';
import { runCommands } from './runs.ts';
import { userCommands } from './users.ts';

export const clientCommands: Command[] = [
  login,
  ...agentCommands,
  ...runCommands,
  ...deploymentCommands,
  ...pipelineCommands,
  metrics,
  audit,
  ...keyCommands,
];

/** server-side commands kept out of bootstrap.ts's list to avoid an import cycle (errors.ts uses it) */
const operatorCommands: Command[] = [errorsList, errorsShow, ...userCommands];

export const commands: Command[] = [...clientCommands, ...bootstrapCommands, ...operatorCommands];

const byName = new Map(commands.map((c) => [c.name, c]));

/** The command the words select (two words before one: `runs list`, then `deploy`), and the rest. */
export function findCommand(argv: string[]): { command?: Command; group?: string; rest: string[] } {
  const [a, b, ...rest] = argv;
  if (b !== undefined && byName.has(`${a} ${b}`)) return { command: byName.get(`${a} ${b}`), rest };
  if (byName.has(a)) return { command: byName.get(a), rest: argv.slice(1) };
  if (commands.some((c) => c.name.startsWith(`${a} `))) return { group: a, rest: argv.slice(1) };
  return { rest: argv };
}

const line = (c: Command) => `  ${c.name.padEnd(22)} ${c.summary}`;

export function groupHelp(group: string): string {
  const subs = commands.filter((c) => c.name.startsWith(`${group} `));
  return `Usage: airmy ${group} <command> [options]\n\nCommands:\n${subs.map(line).join('\n')}\n\nRun 'airmy ${group} <command> --help' for its options.`;
}

export const HELP = `airmy — the AIRMY agent platform: the API client, and the server

Usage: airmy <command> [options]        airmy <command> --help for a command's options

Client commands (over the API, with the profile 'airmy login' stored, or AIRMY_API_KEY /
AIRMY_BASE_URL / AIRMY_CA_FILE; --profile <name> selects a profile):
${clientCommands.map(line).join('\n')}

Server and bootstrap commands (on the database directly, reading the server's environment):
${[...bootstrapCommands, ...operatorCommands].map(line).join('\n')}
  keys create --org <org_id>  create an organization's first key in the database (and keys list / revoke --org)
  help                   this text

Exit codes: 0 ok, 1 an API error (its message and request id on stderr), 2 a usage error.`;
