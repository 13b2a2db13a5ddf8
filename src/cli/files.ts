import { readFileSync } from 'node:fs';
import { UsageError } from './context.ts';

/** A JSON object from `-f <file>` (`-` is stdin). */
export function readJsonFile(file: string | undefined, what: string): Record<string, unknown> {
  if (!file) throw new UsageError(`${what} needs -f <file.json>`);
  let text: string;
  try {
    text = readFileSync(file === '-' ? 0 : file, 'utf8');
  } catch (err) {
    throw new UsageError(`cannot read ${file}: ${(err as Error).message}`);
  }
  try {
    const value = JSON.parse(text);
    if (value && typeof value === 'object' && !Array.isArray(value)) return value;
  } catch (err) {
    throw new UsageError(`${file} is not JSON: ${(err as Error).message}`);
  }
  throw new UsageError(`${file} must hold a JSON object`);
}

/** `--input`: a JSON object as is, any other text as `{"query": text}`. */
export function parseInput(text: string | undefined): Record<string, unknown> {
  if (text === undefined) throw new UsageError('needs --input <json or text>');
  try {
    const value = JSON.parse(text);
    if (value && typeof value === 'object' && !Array.isArray(value)) return value;
  } catch {}
  return { query: text };
}

/** `--metadata k=v` (repeatable) → an object. */
export function parseMetadata(pairs: string[] | undefined): Record<string, string> | undefined {
  if (!pairs?.length) return undefined;
  const out: Record<string, string> = {};
  for (const p of pairs) {
    const i = p.indexOf('=');
    if (i < 1) throw new UsageError(`--metadata wants key=value (got '${p}')`);
    out[p.slice(0, i)] = p.slice(i + 1);
  }
  return out;
}

export function one(positionals: string[], what: string): string {
  if (positionals.length !== 1) throw new UsageError(`needs exactly one ${what}`);
  return positionals[0];
}
