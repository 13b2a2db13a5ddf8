/**
 * Token counting for the mock provider, with the o200k_base encoding (GPT-4o and later) so that a
 * mock run reports the same `tokens_used` a real OpenAI model would for the same text.
 *
 * Building the BPE tables is the expensive part (about a second of CPU for 200k ranks), so it is
 * done at most once per counter, on first use, and the ranks module is imported lazily so that
 * loading the engine costs nothing until a mock model actually runs. `warmUp()` lets a server pay
 * that cost at start-up instead of on its first run.
 *
 * Counts are memoised in a small first-in, first-out cache: a mock agent sends the same
 * instructions on every run and a benchmark sends the same input thousands of times, and a map
 * lookup is ~100x cheaper than BPE.
 *
 * The merge itself is ./bpe.ts (linear-bounded, same counts as js-tiktoken's quadratic `encode`).
 * Texts past SYNC_MAX_CHARS are never counted synchronously: `count()` works through them in
 * slices and yields to the event loop between slices, so a 1 MiB input delays other requests by
 * one slice at a time, not by the whole count (issue 19, bug 0).
 */
import { setImmediate as nextTurn } from 'node:timers/promises';
import { type BpeTable, buildTable, countChunks, countSync } from './bpe.ts';

export interface TokenCounter {
  /** Resolves once the encoding is built; later calls return the same promise. */
  warmUp(): Promise<void>;
  /** Counts tokens; `null` until `warmUp()` has resolved, and for texts past SYNC_MAX_CHARS. */
  countSync(text: string): number | null;
  count(text: string): Promise<number>;
}

const CACHE_ENTRIES = 1024;
/** Longer texts are rarely repeated and would pin memory in the cache. */
const CACHE_MAX_CHARS = 4096;
/** Longer texts are counted by `count()` in slices of this many characters, yielding in between. */
export const SYNC_MAX_CHARS = 16_384;

async function loadEncoding(): Promise<BpeTable> {
  const ranks = await import('js-tiktoken/ranks/o200k_base');
  return buildTable(ranks.default);
}

export function createTokenCounter(): TokenCounter {
  let encoding: BpeTable | null = null;
  let loading: Promise<void> | null = null;
  const cache = new Map<string, number>();

  // Special tokens such as <|endoftext|> in user text are counted as ordinary text, not rejected.
  function countWith(table: BpeTable, text: string): number {
    if (text.length === 0) return 0;
    const cacheable = text.length <= CACHE_MAX_CHARS;
    if (cacheable) {
      // First in, first out: a hit is one lookup (re-inserting for recency cost more than it saved).
      const hit = cache.get(text);
      if (hit !== undefined) return hit;
    }
    const n = countSync(text, table);
    if (cacheable) {
      if (cache.size >= CACHE_ENTRIES) cache.delete(cache.keys().next().value!);
      cache.set(text, n);
    }
    return n;
  }

  const counter: TokenCounter = {
    warmUp() {
      loading ??= loadEncoding().then(
        (enc) => {
          encoding = enc;
        },
        (error: unknown) => {
          loading = null; // let the next call try again
          throw error;
        },
      );
      return loading;
    },
    countSync(text) {
      return encoding === null || text.length > SYNC_MAX_CHARS ? null : countWith(encoding, text);
    },
    async count(text) {
      if (encoding === null) await counter.warmUp();
      if (text.length <= SYNC_MAX_CHARS) return countWith(encoding!, text);
      return countChunks(text, encoding!, SYNC_MAX_CHARS, () => nextTurn());
    },
  };
  return counter;
}
