/**
 * Provider settings come from the environment like the rest of the config (src/config.ts): parsed
 * once, frozen, and a bad value stops start-up with one line naming the variable. The AI SDK
 * adapters would read OPENAI_API_KEY & co. from `process.env` on their own; the registry always
 * hands them explicit values instead, so this parser is the only place that decides.
 */
import { ConfigError } from '../../config-error.ts';

export interface ProviderEndpoint {
  apiKey?: string;
  baseURL?: string;
}

export interface CompatibleEndpoint {
  baseURL: string;
  apiKey?: string;
}

export interface ProviderConfig {
  openai?: ProviderEndpoint;
  anthropic?: ProviderEndpoint;
  /** named OpenAI-compatible endpoints, e.g. ollama → { baseURL: 'http://127.0.0.1:11434/v1' } */
  compatible: Record<string, CompatibleEndpoint>;
  /** retries the AI SDK makes on 429/5xx/network errors before giving up (tests use 0) */
  maxRetries: number;
}

/** Prefixes that name a built-in provider and so cannot name an OpenAI-compatible endpoint. */
export const BuiltInProviders = ['mock', 'openai', 'anthropic'] as const;

type Env = Record<string, string | undefined>;

const COMPATIBLE_VAR = /^AIRMY_PROVIDER_([A-Z0-9][A-Z0-9_]*?)_(BASE_URL|API_KEY)$/;

function value(env: Env, name: string): string | undefined {
  const raw = env[name];
  return raw === undefined || raw === '' ? undefined : raw;
}

function httpUrl(name: string, raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError(`${name}: must be an http(s) URL (got "${raw}")`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ConfigError(`${name}: must be an http(s) URL (got "${raw}")`);
  }
  // The adapters append paths such as /chat/completions to the base, so a trailing slash would
  // produce `//chat/completions`.
  return raw.replace(/\/+$/, '');
}

function apiKey(name: string, raw: string | undefined): string | undefined {
  if (raw === undefined) return undefined;
  // Never echo the value: it is a secret.
  if (/\s/.test(raw)) throw new ConfigError(`${name}: must not contain whitespace`);
  return raw;
}

function endpoint(env: Env, keyVar: string, urlVar: string): ProviderEndpoint | undefined {
  const key = apiKey(keyVar, value(env, keyVar));
  const url = value(env, urlVar);
  if (key === undefined && url === undefined) return undefined;
  const out: ProviderEndpoint = {};
  if (key !== undefined) out.apiKey = key;
  if (url !== undefined) out.baseURL = httpUrl(urlVar, url);
  return Object.freeze(out);
}

function maxRetries(env: Env): number {
  const name = 'AIRMY_PROVIDER_MAX_RETRIES';
  const raw = value(env, name);
  if (raw === undefined) return 2;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0 || n > 10) {
    throw new ConfigError(`${name}: must be a whole number from 0 to 10 (got "${raw}")`);
  }
  return n;
}

function compatible(env: Env): Record<string, CompatibleEndpoint> {
  const found = new Map<string, { baseURL?: string; apiKey?: string }>();
  for (const name of Object.keys(env).sort()) {
    const match = COMPATIBLE_VAR.exec(name);
    if (!match || value(env, name) === undefined) continue;
    const provider = match[1].toLowerCase();
    if ((BuiltInProviders as readonly string[]).includes(provider)) {
      throw new ConfigError(
        `${name}: "${provider}" is a built-in provider; pick another name for the OpenAI-compatible endpoint`,
      );
    }
    const entry = found.get(provider) ?? {};
    if (match[2] === 'BASE_URL') entry.baseURL = httpUrl(name, value(env, name)!);
    else entry.apiKey = apiKey(name, value(env, name));
    found.set(provider, entry);
  }
  const out: Record<string, CompatibleEndpoint> = {};
  for (const [provider, entry] of found) {
    if (entry.baseURL === undefined) {
      const upper = provider.toUpperCase();
      throw new ConfigError(
        `AIRMY_PROVIDER_${upper}_BASE_URL: required when AIRMY_PROVIDER_${upper}_API_KEY is set`,
      );
    }
    out[provider] = Object.freeze(
      entry.apiKey === undefined
        ? { baseURL: entry.baseURL }
        : { baseURL: entry.baseURL, apiKey: entry.apiKey },
    );
  }
  return Object.freeze(out);
}

/**
 * Pure: reads OPENAI_API_KEY, OPENAI_BASE_URL, ANTHROPIC_API_KEY, ANTHROPIC_BASE_URL,
 * AIRMY_PROVIDER_<NAME>_BASE_URL / AIRMY_PROVIDER_<NAME>_API_KEY (NAME lower-cased becomes the model
 * id prefix: AIRMY_PROVIDER_OLLAMA_BASE_URL → `ollama/llama3.2`) and AIRMY_PROVIDER_MAX_RETRIES
 * (default 2). Base URLs include the API version segment, as the AI SDK expects
 * (`https://api.openai.com/v1`, `https://api.anthropic.com/v1`, `http://127.0.0.1:11434/v1`).
 * Empty values count as unset.
 */
export function parseProviderEnv(env: Env): ProviderConfig {
  const config: ProviderConfig = {
    compatible: compatible(env),
    maxRetries: maxRetries(env),
  };
  const openai = endpoint(env, 'OPENAI_API_KEY', 'OPENAI_BASE_URL');
  if (openai) config.openai = openai;
  const anthropic = endpoint(env, 'ANTHROPIC_API_KEY', 'ANTHROPIC_BASE_URL');
  if (anthropic) config.anthropic = anthropic;
  return Object.freeze(config);
}
