/**
 * The `airmy` command: a thin dispatcher. It finds the command the first words name (src/cli/),
 * prints its help for `--help`, runs it, and turns what went wrong into an exit code: 0 ok, 1 an
 * API error (message and request id on stderr), 2 a usage or configuration error. The environment
 * is read here, once, and handed to the command.
 */
import { AirmyError, APIError } from '../sdk/typescript/index.ts';
import { findCommand, groupHelp, HELP } from './cli/commands.ts';
import { cliContext, UsageError } from './cli/context.ts';
import { ConfigError } from './config-error.ts';
import { ApiError } from './errors.ts';

const wantsHelp = (args: string[]) => args.some((a) => a === '--help' || a === '-h');

async function main(argv: string[]): Promise<number | undefined> {
  const ctx = cliContext(process.env);
  if (argv.length === 0) argv = ['serve'];
  if (argv[0] === 'help' || argv[0] === '--help' || argv[0] === '-h') {
    const { command, group } = findCommand(argv.slice(1));
    ctx.stdout.write(`${command ? command.help : group ? groupHelp(group) : HELP}\n`);
    return 0;
  }
  const { command, group, rest } = findCommand(argv);
  if (!command) {
    if (group && (rest.length === 0 || wantsHelp(rest))) {
      (wantsHelp(rest) ? ctx.stdout : ctx.stderr).write(`${groupHelp(group)}\n`);
      return wantsHelp(rest) ? 0 : 2;
    }
    throw new UsageError(`unknown command '${argv.join(' ')}'`);
  }
  if (wantsHelp(rest)) {
    ctx.stdout.write(`${command.help}\n`);
    return 0;
  }
  return command.run(rest, ctx);
}

// The AI SDK prints provider warnings to the console on its own; our logs are JSON through pino.
(globalThis as { AI_SDK_LOG_WARNINGS?: boolean }).AI_SDK_LOG_WARNINGS = false;

main(process.argv.slice(2)).then(
  (code) => {
    if (code !== undefined) process.exitCode = code;
  },
  (err: unknown) => {
    if (err instanceof ConfigError) process.stderr.write(`configuration error: ${err.message}\n`);
    else if (err instanceof UsageError)
      process.stderr.write(
        `airmy: ${err.message}\nRun 'airmy --help' (or 'airmy <command> --help') for usage.\n`,
      );
    else if (err instanceof APIError)
      process.stderr.write(
        `airmy: ${err.message}${err.requestID && !err.message.includes(err.requestID) ? ` (request ${err.requestID})` : ''}\n`,
      );
    else if (err instanceof AirmyError) process.stderr.write(`airmy: ${err.message}\n`);
    else if (err instanceof ApiError) process.stderr.write(`airmy: ${err.message}\n`);
    else process.stderr.write(`airmy: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = err instanceof UsageError || err instanceof ConfigError ? 2 : 1;
  },
);
