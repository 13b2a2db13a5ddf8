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
 */
import type { Tiktoken } from 'js-tiktoken/lite';

export interface TokenCounter {
  /** Resolves once the encoding is built; later calls return the same promise. */
  warmUp(): Promise<void>;
  /** Counts tokens; `null` until `warmUp()` has resolved. */
  countSync(text: string): number | null;
  count(text: string): Promise<number>;
}

const CACHE_ENTRIES = 1024;
/** Longer texts are rarely repeated and would pin memory in the cache. */
const CACHE_MAX_CHARS = 4096;

async function loadEncoding(): Promise<Tiktoken> {
  const [{ Tiktoken }, ranks] = await Promise.all([
    import('js-tiktoken/lite'),
    import('js-tiktoken/ranks/o200k_base'),
  ]);
  return new Tiktoken(ranks.default);
}

export function createTokenCounter(): TokenCounter {
  let encoding: Tiktoken | null = null;
  let loading: Promise<void> | null = null;
  const cache = new Map<string, number>();

  function countWith(enc: Tiktoken, text: string): number {
    if (text.length === 0) return 0;
    const cacheable = text.length <= CACHE_MAX_CHARS;
    if (cacheable) {
      // First in, first out: a hit is one lookup (re-inserting for recency cost more than it saved).
      const hit = cache.get(text);
      if (hit !== undefined) return hit;
    }
    // Special tokens such as <|endoftext|> in user text are counted as ordinary text, not rejected.
    const n = enc.encode(text, [], []).length;
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
      return encoding === null ? null : countWith(encoding, text);
    },
    async count(text) {
      if (encoding === null) await counter.warmUp();
      return countWith(encoding!, text);
    },
  };
  return counter;
}
