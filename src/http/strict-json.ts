/**
 * The request body parser: JSON is refused, never silently changed (issue 19, bug 11).
 *
 * JSON.parse accepts things a client never meant and we must not store: `1e309` becomes Infinity
 * (stored as null), a duplicate key keeps the last value, bytes that are not UTF-8 become U+FFFD,
 * and 5,000 levels of nesting parse fine but overflow the stack of whatever walks the value next
 * (validation, guardrails, fingerprints). So a body goes through, in order:
 *
 *   1. the envelope of the bytes: a Content-Encoding (gzip…) or a charset other than UTF-8 is 415,
 *      a UTF-16/32 body (BOM, or NUL bytes among the first four, RFC 4627 §3) is 415 too;
 *   2. `isUtf8` (native, linear): invalid UTF-8 is 400 `invalid_utf8`;
 *   3. Fastify's default parser (JSON.parse + prototype-poisoning check): syntax is 400 `invalid_json`;
 *   4. one linear scan of the now known-valid text (`scanJson`): depth over MAX_JSON_DEPTH, a
 *      duplicate key, a non-finite number, a `\u0000` escape (Postgres cannot store NUL in text,
 *      and no legitimate client sends one) — each its own 400 code, with `param`.
 *
 * An empty body is no body (issue 19, bug 9): curl scripts and many clients send
 * `Content-Type: application/json` on every DELETE and every body-less POST.
 *
 * The scan is on the hot path of every POST: it jumps over string contents with indexOf and keeps
 * the next backslash's position between strings, so it stays linear even for 1 MiB of small strings.
 */
import { isUtf8 } from 'node:buffer';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ApiError, badRequest, ErrorTypes } from '../errors.ts';

/** Deepest nesting of arrays and objects a request body may have (documented in docs/limits.md). */
export const MAX_JSON_DEPTH = 64;

interface Frame {
  object: boolean;
  /** object: expecting a key next; array: unused */
  expectKey: boolean;
  key: string;
  index: number;
  keys: Set<string> | null;
}

function paramOf(stack: Frame[], depth: number): string {
  let param = '';
  for (let d = 0; d < depth; d++) {
    const frame = stack[d];
    if (frame.object) param = param ? `${param}.${frame.key}` : frame.key;
    else param = `${param}[${frame.index}]`;
  }
  return param;
}

const QUOTE = 0x22;

/** Returns the first problem in valid JSON text, or null. Linear in the text's length. */
export function scanJson(text: string): ApiError | null {
  const stack: Frame[] = [];
  let depth = 0;
  let nextBackslash = text.indexOf('\\');
  const n = text.length;
  let i = 0;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      // Find the closing quote: before the next backslash, the first quote ends the string.
      let end = text.indexOf('"', i + 1);
      let escaped = false;
      if (nextBackslash !== -1 && nextBackslash < i) nextBackslash = text.indexOf('\\', i);
      if (nextBackslash !== -1 && nextBackslash < end) {
        escaped = true;
        let k = nextBackslash;
        for (;;) {
          const next = text.charCodeAt(k + 1);
          if (next === 0x75 /* u */ && text.startsWith('0000', k + 2)) {
            return badRequest(
              'invalid_character',
              'Request contains a NUL character (\\u0000)',
              paramOf(stack, depth) || undefined,
            );
          }
          k += next === 0x75 ? 6 : 2;
          end = text.indexOf('"', k);
          nextBackslash = text.indexOf('\\', k);
          if (nextBackslash === -1 || nextBackslash > end) break;
          k = nextBackslash;
        }
      }
      const frame = depth > 0 ? stack[depth - 1] : null;
      if (frame?.object && frame.expectKey) {
        const key = escaped ? (JSON.parse(text.slice(i, end + 1)) as string) : text.slice(i + 1, end);
        frame.keys ??= new Set();
        if (frame.keys.has(key)) {
          frame.key = key;
          return badRequest('duplicate_key', `Duplicate key in JSON object: ${key}`, paramOf(stack, depth));
        }
        frame.keys.add(key);
        frame.key = key;
        frame.expectKey = false;
      }
      i = end + 1;
      continue;
    }
    switch (c) {
      case 0x7b /* { */:
      case 0x5b /* [ */:
        {
          if (depth >= MAX_JSON_DEPTH) {
            return badRequest(
              'json_too_deep',
              `JSON nesting is deeper than ${MAX_JSON_DEPTH} levels`,
              paramOf(stack, depth) || undefined,
            );
          }
          const object = c === 0x7b;
          const frame = stack[depth];
          if (frame) {
            frame.object = object;
            frame.expectKey = object;
            frame.index = 0;
            frame.keys = null;
          } else stack.push({ object, expectKey: object, key: '', index: 0, keys: null });
          depth++;
          i++;
          break;
        }
      case 0x7d /* } */:
      case 0x5d /* ] */:
        depth--;
        i++;
        break;
      case 0x2c /* , */:
        {
          const frame = stack[depth - 1];
          if (frame.object) frame.expectKey = true;
          else frame.index++;
          i++;
          break;
        }
      default: {
        if (c === 0x2d /* - */ || (c >= 0x30 && c <= 0x39)) {
          let j = i + 1;
          let exponent = false;
          for (; j < n; j++) {
            const d = text.charCodeAt(j);
            if (d === 0x65 || d === 0x45) exponent = true;
            else if (!((d >= 0x30 && d <= 0x39) || d === 0x2e || d === 0x2b || d === 0x2d)) break;
          }
          // Only an exponent or more than 308 digits can overflow a double.
          if ((exponent || j - i > 308) && !Number.isFinite(Number(text.slice(i, j)))) {
            return badRequest(
              'number_out_of_range',
              `Number ${text.slice(i, Math.min(j, i + 40))} is too large to represent`,
              paramOf(stack, depth) || undefined,
            );
          }
          i = j;
        } else i++;
      }
    }
  }
  return null;
}

const unsupported = (code: string, message: string) =>
  new ApiError(415, ErrorTypes.invalid_request, code, message);

/** 415 when the bytes are not plain UTF-8 JSON; null when they are. */
function checkEncoding(request: FastifyRequest, body: Buffer): ApiError | null {
  const encoding = request.headers['content-encoding'];
  if (encoding !== undefined && encoding.trim().toLowerCase() !== 'identity') {
    return unsupported(
      'unsupported_content_encoding',
      `Content-Encoding ${encoding} is not supported: send the JSON body uncompressed`,
    );
  }
  const charset = /;\s*charset\s*=\s*"?([^";\s]+)/i.exec(request.headers['content-type'] ?? '')?.[1];
  if (charset !== undefined && !/^utf-?8$/i.test(charset)) {
    return unsupported('unsupported_charset', `charset ${charset} is not supported: send UTF-8 JSON`);
  }
  const bom16 =
    body.length >= 2 && ((body[0] === 0xfe && body[1] === 0xff) || (body[0] === 0xff && body[1] === 0xfe));
  if (bom16 || body.subarray(0, 4).includes(0)) {
    return unsupported('unsupported_charset', 'The body looks UTF-16 or UTF-32 encoded: send UTF-8 JSON');
  }
  return null;
}

/** Replaces Fastify's JSON parser with the strict one above. */
export function installStrictJson(app: FastifyInstance) {
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (request, raw, done) => {
    const body = raw as Buffer;
    if (body.length === 0) return done(null, undefined);
    const refused = checkEncoding(request, body);
    if (refused) return done(refused, undefined);
    if (!isUtf8(body)) {
      return done(badRequest('invalid_utf8', 'The body is not valid UTF-8'), undefined);
    }
    const text = body.toString('utf8');
    parseJson(request, text, (error, value) => {
      if (error) return done(error, undefined);
      const problem = scanJson(text);
      return problem ? done(problem, undefined) : done(null, value);
    });
  });
}
