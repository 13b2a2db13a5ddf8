/**
 * Byte-pair token counting in bounded time, over js-tiktoken's rank tables.
 *
 * Why not `Tiktoken.encode`: its merge loop rescans every pair of a piece after each merge, so a
 * piece of n bytes costs O(n²) — and the pre-tokenizer makes a run of one letter a single piece:
 * 2,000 `A`s took 0.2 s, a 1 MiB run over an hour of event-loop time (issue 19, bug 0). Here:
 *
 * - the same pre-tokenizer regex (`pat_str`) and the same merge rule (lowest rank first, leftmost
 *   on a tie), with a binary heap and a linked list: O(m log m) for a piece of m bytes, and the
 *   same count as `encode` — a property test holds the two equal;
 * - a piece longer than `WINDOW_BYTES` (no real word is) is merged window by window, so one piece
 *   never costs more than a window; a window boundary can cost at most one extra token;
 * - `countChunks` hands back control between slices of the text (and between windows of a long
 *   piece), so the caller can yield to the event loop: a 1 MiB body is many short tasks, never one
 *   long one.
 *
 * Keys are the token's bytes as a latin1 string (one char per byte): shorter than js-tiktoken's
 * comma-joined decimals and concatenated in O(1).
 */

export interface BpeRanks {
  pat_str: string;
  bpe_ranks: string;
}

export interface BpeTable {
  ranks: Map<string, number>;
  pattern: RegExp;
  /** the longest token, in bytes: a pair longer than this cannot have a rank */
  maxTokenBytes: number;
}

/** Longest piece merged in one go; longer pieces (only pathological input) are windowed. */
export const WINDOW_BYTES = 4096;

export function buildTable(data: BpeRanks): BpeTable {
  const ranks = new Map<string, number>();
  let maxTokenBytes = 1;
  for (const line of data.bpe_ranks.split('\n')) {
    if (line === '') continue;
    const [, offsetText, ...tokens] = line.split(' ');
    const offset = Number.parseInt(offsetText, 10);
    for (let i = 0; i < tokens.length; i++) {
      const key = Buffer.from(tokens[i], 'base64').toString('latin1');
      ranks.set(key, offset + i);
      if (key.length > maxTokenBytes) maxTokenBytes = key.length;
    }
  }
  return { ranks, pattern: new RegExp(data.pat_str, 'gu'), maxTokenBytes };
}

/** Tokens in one piece given as latin1 bytes: tiktoken's merge, with a heap instead of rescans. */
function mergeCount(bytes: string, table: BpeTable): number {
  const n = bytes.length;
  if (n <= 1) return n;
  if (table.ranks.has(bytes)) return 1;
  // Part i starts at byte i; a merged part keeps the index of its left half.
  const end = new Int32Array(n);
  const next = new Int32Array(n);
  const prev = new Int32Array(n);
  const version = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    end[i] = i + 1;
    next[i] = i + 1 < n ? i + 1 : -1;
    prev[i] = i - 1;
  }
  // Heap of candidate merges, ordered by (rank, left index); each carries both parts' versions
  // so an entry made stale by a neighbouring merge is recognised and dropped when popped.
  const heap: number[][] = [];
  const less = (a: number[], b: number[]) => a[0] < b[0] || (a[0] === b[0] && a[1] < b[1]);
  const push = (entry: number[]) => {
    let i = heap.push(entry) - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!less(heap[i], heap[parent])) break;
      [heap[i], heap[parent]] = [heap[parent], heap[i]];
      i = parent;
    }
  };
  const pop = () => {
    const top = heap[0];
    const last = heap.pop()!;
    if (heap.length > 0) {
      heap[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < heap.length && less(heap[l], heap[m])) m = l;
        if (r < heap.length && less(heap[r], heap[m])) m = r;
        if (m === i) break;
        [heap[i], heap[m]] = [heap[m], heap[i]];
        i = m;
      }
    }
    return top;
  };
  const consider = (i: number) => {
    const j = next[i];
    if (i < 0 || j < 0 || end[j] - i > table.maxTokenBytes) return;
    const rank = table.ranks.get(bytes.slice(i, end[j]));
    if (rank !== undefined) push([rank, i, version[i], j, version[j]]);
  };
  for (let i = 0; i < n - 1; i++) consider(i);
  let parts = n;
  while (heap.length > 0) {
    const [, i, vi, j, vj] = pop();
    if (version[i] !== vi || version[j] !== vj || next[i] !== j) continue;
    end[i] = end[j];
    next[i] = next[j];
    if (next[j] >= 0) prev[next[j]] = i;
    version[i]++;
    version[j]++;
    parts--;
    consider(prev[i]);
    consider(i);
  }
  return parts;
}

/** A piece's bytes as a latin1 string: ASCII is its own, anything else is encoded once. */
function bytesOf(piece: string): string {
  return Buffer.byteLength(piece, 'utf8') === piece.length
    ? piece
    : Buffer.from(piece, 'utf8').toString('latin1');
}

/**
 * Counts `text`, calling `pause` (when given) after about every `sliceChars` characters — also
 * inside one long piece, window by window — and waiting for the promise it returns. The total is
 * the same with or without pauses.
 */
export async function countChunks(
  text: string,
  table: BpeTable,
  sliceChars: number,
  pause?: () => Promise<unknown>,
): Promise<number> {
  const pattern = new RegExp(table.pattern);
  let total = 0;
  let sinceYield = 0;
  for (const match of text.matchAll(pattern)) {
    const bytes = bytesOf(match[0]);
    for (let at = 0; at < bytes.length; at += WINDOW_BYTES) {
      const window = bytes.length <= WINDOW_BYTES ? bytes : bytes.slice(at, at + WINDOW_BYTES);
      total += mergeCount(window, table);
      sinceYield += window.length;
      if (pause && sinceYield >= sliceChars) {
        sinceYield = 0;
        await pause();
      }
    }
  }
  return total;
}

/** The synchronous count: the same as countChunks without pauses. Use for short texts only. */
export function countSync(text: string, table: BpeTable): number {
  const pattern = new RegExp(table.pattern);
  let total = 0;
  for (const match of text.matchAll(pattern)) {
    const bytes = bytesOf(match[0]);
    if (bytes.length <= WINDOW_BYTES) total += mergeCount(bytes, table);
    else
      for (let at = 0; at < bytes.length; at += WINDOW_BYTES)
        total += mergeCount(bytes.slice(at, at + WINDOW_BYTES), table);
  }
  return total;
}
