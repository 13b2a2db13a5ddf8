/**
 * `airmy login`: asks for the base URL, the API key (typed without echo) and an optional CA file,
 * checks them with one call (GET /organization), and stores them as a profile. Without a terminal
 * (a script, a pipe) the answers are read as lines from stdin, in the same order, and any given as
 * flags are not asked.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import Airmy, { DEFAULT_BASE_URL } from '../../sdk/typescript/index.ts';
import { type CliContext, type Command, green, parse, UsageError } from './context.ts';
import { profileName, readProfile, saveProfile } from './profile.ts';

const help = `Usage: airmy login [--profile <name>] [--base-url <url>] [--ca-file <pem>]

Stores a base URL, an API key and a CA file as a profile (default: "default") in
$XDG_CONFIG_HOME/airmy/config.json (or ~/.config/airmy/config.json), readable by you only (0600).
The key is asked without echo. Without a terminal the answers are read from stdin, one per line:
  printf '%s\\n' "$KEY" | airmy login --base-url "$AIRMY" --ca-file "$CA"

Options:
  --profile <name>   the profile to write (client commands take --profile too)
  --base-url <url>   the API base URL ending in /v2 (default ${DEFAULT_BASE_URL})
  --ca-file <pem>    a CA to trust for a self-signed server (e.g. .airmy/tls/ca.pem)`;

/**
 * Reads answers: on a terminal, one line at a time in raw mode (echoed, or not for the key), so
 * nothing typed ahead leaks from one prompt into the next; otherwise plain lines from stdin.
 */
export function asker(ctx: CliContext) {
  const stdin = ctx.stdin as NodeJS.ReadStream;
  const interactive = Boolean(stdin.isTTY);
  const lines: string[] = [];
  const waiting: ((line: string | undefined) => void)[] = [];
  let ended = false;
  let rl: ReturnType<typeof createInterface> | undefined;
  const nextLine = () =>
    new Promise<string | undefined>((resolve) => {
      rl ??= createInterface({ input: stdin, terminal: false })
        .on('line', (l) => (waiting.length ? waiting.shift()!(l) : lines.push(l)))
        .on('close', () => {
          ended = true;
          for (const w of waiting.splice(0)) w(undefined);
        });
      if (lines.length) resolve(lines.shift());
      else if (ended) resolve(undefined);
      else waiting.push(resolve);
    });
  const rawLine = (echo: boolean) =>
    new Promise<string>((resolve, reject) => {
      let value = '';
      const finish = (fn: () => void) => {
        stdin.off('data', onData);
        stdin.setRawMode(false);
        stdin.pause();
        ctx.stderr.write('\n');
        fn();
      };
      const onData = (buf: Buffer) => {
        for (const ch of buf.toString('utf8')) {
          if (ch === '\r' || ch === '\n') return finish(() => resolve(value.trim()));
          if (ch === '\u0003' || ch === '\u0004') return finish(() => reject(new UsageError('cancelled')));
          if (ch === '\u007f' || ch === '\b') {
            if (value && echo) ctx.stderr.write('\b \b');
            value = value.slice(0, -1);
          } else if (ch >= ' ') {
            value += ch;
            if (echo) ctx.stderr.write(ch);
          }
        }
      };
      stdin.setRawMode(true);
      stdin.resume();
      stdin.on('data', onData);
    });
  return {
    async ask(question: string, fallback = ''): Promise<string> {
      if (!interactive) return (await nextLine())?.trim() || fallback;
      ctx.stderr.write(`${question}${fallback ? ` [${fallback}]` : ''}: `);
      return (await rawLine(true)) || fallback;
    },
    async secret(question: string): Promise<string> {
      if (!interactive) return (await nextLine())?.trim() ?? '';
      ctx.stderr.write(`${question}: `);
      return rawLine(false);
    },
    close() {
      rl?.close();
    },
  };
}

export const login: Command = {
  name: 'login',
  summary: 'store a base URL, an API key and a CA file as a profile',
  help,
  async run(args, ctx) {
    const { values } = parse(args, {
      profile: { type: 'string' },
      'base-url': { type: 'string' },
      'ca-file': { type: 'string' },
    });
    const name = profileName(ctx, values.profile);
    const current = readProfile(ctx, name);
    const io = asker(ctx);
    try {
      const baseURL =
        values['base-url'] ??
        (await io.ask('Base URL', current?.base_url ?? ctx.env.AIRMY_BASE_URL ?? DEFAULT_BASE_URL));
      const apiKey = ctx.env.AIRMY_API_KEY || (await io.secret('API key (sk-airmy-…, not shown)'));
      if (!apiKey) throw new UsageError('an API key is required');
      const caAnswer =
        values['ca-file'] ?? (await io.ask('CA file (empty: the system store)', current?.ca_file ?? ''));
      const caFile = caAnswer ? path.resolve(caAnswer) : undefined;
      if (caFile && !existsSync(caFile)) throw new UsageError(`no such CA file: ${caFile}`);
      const client = new Airmy({ apiKey, baseURL, ...(caFile ? { caFile } : {}) });
      const org = await client.organization.retrieve();
      const file = saveProfile(ctx, name, {
        base_url: client.baseURL,
        api_key: apiKey,
        ...(caFile ? { ca_file: caFile } : {}),
      });
      ctx.stdout.write(`${green(ctx, 'Logged in')} to ${org.name} (${org.id}) at ${client.baseURL}\n`);
      ctx.stderr.write(`profile '${name}' saved in ${file}\n`);
      return 0;
    } finally {
      io.close();
    }
  },
};
