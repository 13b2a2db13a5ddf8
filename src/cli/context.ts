/**
 * What every CLI command is handed: the environment (read once by main.ts), the output streams,
 * and whether colours may be used (a TTY and no NO_COLOR). Commands never touch process.* directly,
 * so a test can run them with its own streams and environment.
 */
import { type ParseArgsConfig, parseArgs, stripVTControlCharacters } from 'node:util';

export interface CliContext {
  env: Record<string, string | undefined>;
  stdout: NodeJS.WriteStream | NodeJS.WritableStream;
  stderr: NodeJS.WriteStream | NodeJS.WritableStream;
  stdin: NodeJS.ReadStream | NodeJS.ReadableStream;
  /** stdout is a terminal: colours (unless NO_COLOR), sparklines, live progress */
  tty: boolean;
  color: boolean;
}

export function cliContext(env: Record<string, string | undefined>): CliContext {
  const tty = Boolean(process.stdout.isTTY);
  return {
    env,
    stdout: process.stdout,
    stderr: process.stderr,
    stdin: process.stdin,
    tty,
    color: tty && !env.NO_COLOR && env.TERM !== 'dumb',
  };
}

/** A mistake in how the command was called: exit code 2, with a pointer to `--help`. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** A command: its help text and what it does with its arguments (after the command words). */
export interface Command {
  /** the words that select it, e.g. `runs create` */
  name: string;
  /** one line for the command list */
  summary: string;
  /** the full `--help` text */
  help: string;
  run(args: string[], ctx: CliContext): Promise<number | undefined> | number | undefined;
}

type Options = NonNullable<ParseArgsConfig['options']>;

/** The options every client command takes. */
export const clientOptions = {
  profile: { type: 'string' },
  json: { type: 'boolean' },
} as const satisfies Options;

/** parseArgs, strict, with positionals; its errors become usage errors. */
export function parse<O extends Options>(args: string[], options: O) {
  try {
    return parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

const paint = (code: number) => (ctx: CliContext, s: string) => (ctx.color ? `\x1b[${code}m${s}\x1b[0m` : s);
export const bold = paint(1);
export const dim = paint(2);
export const red = paint(31);
export const green = paint(32);
export const yellow = paint(33);
export const cyan = paint(36);

/** A status word in the colour of its meaning. */
export function status(ctx: CliContext, s: string): string {
  if (['completed', 'active', 'ok', 'success'].includes(s)) return green(ctx, s);
  if (['failed', 'timed_out', 'expired', 'denied', 'broken'].includes(s)) return red(ctx, s);
  if (['cancelled', 'rolled_back', 'superseded'].includes(s)) return yellow(ctx, s);
  return cyan(ctx, s);
}

const visible = (s: string) => stripVTControlCharacters(s).length;

/** Columns padded to their widest cell; the header dim. */
export function table(ctx: CliContext, headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => visible(r[i] ?? ''))));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c + ' '.repeat(widths[i] - visible(c))))
      .join('  ')
      .trimEnd();
  return `${[dim(ctx, line(headers)), ...rows.map(line)].join('\n')}\n`;
}

export function write(ctx: CliContext, text: string) {
  ctx.stdout.write(text);
}

export function json(ctx: CliContext, value: unknown) {
  ctx.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}
