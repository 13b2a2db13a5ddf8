/**
 * Profiles: where `airmy login` keeps a base URL, an API key and a CA file, in
 * `$XDG_CONFIG_HOME/airmy/config.json` (else `~/.config/airmy/config.json`), written 0600 in a 0700
 * directory because it holds a secret. A client command uses `--profile <name>` (else
 * AIRMY_PROFILE, else `default`); AIRMY_API_KEY, AIRMY_BASE_URL and AIRMY_CA_FILE, when set,
 * win over the stored profile (so scripts and CI need no login).
 */
import { chmodSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';
import Airmy from '../../sdk/typescript/index.ts';
import type { CliContext } from './context.ts';
import { UsageError } from './context.ts';

export interface Profile {
  base_url: string;
  api_key: string;
  ca_file?: string;
}

interface ConfigFile {
  profiles: Record<string, Profile>;
}

export function configPath(env: CliContext['env']): string {
  const base = env.XDG_CONFIG_HOME || path.join(env.HOME || homedir(), '.config');
  return path.join(base, 'airmy', 'config.json');
}

function readConfig(file: string): ConfigFile {
  try {
    const parsed = JSON.parse(readFileSync(file, 'utf8')) as Partial<ConfigFile>;
    return { profiles: parsed.profiles ?? {} };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { profiles: {} };
    throw new UsageError(`cannot read ${file}: ${(err as Error).message}`);
  }
}

export function profileName(ctx: CliContext, flag: string | undefined): string {
  return flag ?? ctx.env.AIRMY_PROFILE ?? 'default';
}

export function readProfile(ctx: CliContext, name: string): Profile | undefined {
  return readConfig(configPath(ctx.env)).profiles[name];
}

export function saveProfile(ctx: CliContext, name: string, profile: Profile): string {
  const file = configPath(ctx.env);
  mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const config = readConfig(file);
  config.profiles[name] = profile;
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600 });
  chmodSync(tmp, 0o600);
  renameSync(tmp, file);
  return file;
}

/** The SDK client of a command: environment first, then the profile. */
export function clientFor(ctx: CliContext, flag: string | undefined): Airmy {
  const name = profileName(ctx, flag);
  const profile = readProfile(ctx, name);
  const apiKey = ctx.env.AIRMY_API_KEY || profile?.api_key;
  if (!apiKey)
    throw new UsageError(
      flag || ctx.env.AIRMY_PROFILE
        ? `no profile '${name}': run 'airmy login --profile ${name}'`
        : "not logged in: run 'airmy login' (or set AIRMY_API_KEY and AIRMY_BASE_URL)",
    );
  const caFile = ctx.env.AIRMY_CA_FILE || profile?.ca_file;
  return new Airmy({
    apiKey,
    baseURL: ctx.env.AIRMY_BASE_URL || profile?.base_url,
    ...(caFile ? { caFile } : {}),
  });
}
