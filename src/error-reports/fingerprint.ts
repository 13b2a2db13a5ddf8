/**
 * What an error report is made of: a fingerprint that groups repeats of one bug, and the error's
 * name, message and stack with anything that looks like a credential taken out.
 *
 * The fingerprint rule (docs/errors.md, "Errors reported automatically"): the first 16 hex digits of
 * SHA-256 over
 *
 *   kind (`request` | `job`) · route pattern or job kind · error class (`name`, plus a string `code`
 *   such as `ECONNREFUSED` or Postgres' `57P01`) · the top 3 stack frames inside this project, each
 *   as `function file` relative to the project root, without line or column numbers
 *
 * so the same bug hit again, after a restart, on another node or after an edit that moved lines, is
 * the same fingerprint; the message's variable parts (ids, numbers, names) never enter it. An error
 * with no frame in the project (thrown inside a dependency) uses its top 3 frames wherever they are
 * (`node_modules/…` paths cut to the package); one with no stack at all uses its message, with ids,
 * numbers, hex and quoted strings replaced by placeholders.
 */
import { hash } from 'node:crypto';
import path from 'node:path';

/** The project root: frames under it (outside node_modules) are the project's own. */
const ROOT = path.resolve(import.meta.dirname, '../..');
const FRAMES = 3;
const MAX_MESSAGE = 2_000;
const MAX_STACK = 16_000;

export interface ErrorFacts {
  /** class and code: `TypeError`, `Error[ECONNREFUSED]` */
  name: string;
  message: string;
  stack: string | null;
}

/**
 * Credentials that may appear in a message or a stack: API keys, session tokens and browser
 * sessions (their format is in src/auth/secrets.ts), bearer tokens, passwords in URLs.
 */
export function redact(text: string): string {
  return (
    text
      .replace(/\b(sk|st|bs)-airmy-[0-9A-Za-z-]+/g, '$1-airmy-[redacted]')
      .replace(/(bearer\s+)[^\s"',;]+/gi, '$1[redacted]')
      // bounded repeats: linear on a long message (each start position tries at most ~300 characters)
      .replace(/\b([a-z][a-z0-9+.-]{0,15}:\/\/[^:/\s@]{0,64}:)[^@\s/]{1,200}@/gi, '$1[redacted]@')
  );
}

const clip = (text: string, max: number) => (text.length > max ? `${text.slice(0, max)}…` : text);

/** The name, message and stack of anything thrown, redacted and bounded. */
export function errorFacts(err: unknown): ErrorFacts {
  if (err instanceof Error || (typeof err === 'object' && err !== null && 'message' in err)) {
    const e = err as Error & { code?: unknown };
    const base = e.name || e.constructor?.name || 'Error';
    const name = typeof e.code === 'string' && e.code.length <= 40 ? `${base}[${e.code}]` : base;
    return {
      name: clip(name, 200),
      message: redact(clip(String(e.message ?? ''), MAX_MESSAGE)),
      stack: typeof e.stack === 'string' ? redact(clip(e.stack, MAX_STACK)) : null,
    };
  }
  return { name: typeof err, message: redact(clip(String(err), MAX_MESSAGE)), stack: null };
}

interface Frame {
  fn: string;
  file: string;
}

const FRAME = /^\s*at (?:async )?(?:(.*?) \()?(.+?)(?::\d+)?(?::\d+)?\)?$/;

function frames(stack: string): Frame[] {
  const out: Frame[] = [];
  for (const line of stack.split('\n')) {
    // frame lines only, and short ones: the message (maybe long) never meets the pattern
    if (line.length > 1_000 || !/^\s*at /.test(line)) continue;
    const m = FRAME.exec(line);
    if (!m) continue;
    let file = m[2];
    if (file.startsWith('file://')) file = decodeURIComponent(file.slice('file://'.length));
    out.push({ fn: (m[1] ?? '<anonymous>').replace(/^new /, ''), file });
  }
  return out;
}

const inProject = (f: Frame) => f.file.startsWith(`${ROOT}${path.sep}`) && !f.file.includes('node_modules');

function shown(f: Frame): string {
  const nm = f.file.lastIndexOf('node_modules/');
  const file = f.file.startsWith(`${ROOT}${path.sep}`)
    ? path.relative(ROOT, f.file)
    : nm >= 0
      ? f.file.slice(nm)
      : f.file;
  return `${f.fn} ${file}`;
}

/** A message with its variable parts replaced: the fallback when there is no stack. */
export function normalizeMessage(message: string): string {
  return message
    .replace(/"[^"]*"|'[^']*'|`[^`]*`/g, '<s>')
    .replace(/\b[a-z]{2,6}_[0-9A-Za-z]{8,}\b/g, '<id>')
    .replace(/\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b/gi, '<uuid>')
    .replace(/\b(0x)?[0-9a-f]*\d[0-9a-f]*\b/gi, (m) => (m.length >= 8 ? '<hex>' : '<n>'))
    .replace(/\d+/g, '<n>');
}

/** The frames a fingerprint is taken over (also shown by `airmy errors show`). */
export function signatureFrames(stack: string | null): string[] {
  if (!stack) return [];
  const all = frames(stack);
  const own = all.filter(inProject);
  return (own.length ? own : all).slice(0, FRAMES).map(shown);
}

export function fingerprint(kind: string, route: string, facts: ErrorFacts): string {
  const sig = signatureFrames(facts.stack);
  const basis = sig.length ? sig.join('\n') : normalizeMessage(facts.message);
  return hash('sha256', `v1\n${kind}\n${route}\n${facts.name}\n${basis}`, 'hex').slice(0, 16);
}
