/**
 * The text a mock model answers with when no `mock_reply` is scripted. It must be deterministic
 * (same message → same reply, across processes, so tests and recorded demos agree) and read like
 * a plausible short answer, because the quickstart shows it to a human as the first thing the
 * product does. A string hash picks the details; a few intent patterns pick the shape.
 */

const QUOTE_MAX = 120;

const DRIVERS = [
  'pricing',
  'new customer growth',
  'retention of existing accounts',
  'product mix',
  'seasonality',
  'cost discipline',
  'regional expansion',
  'channel partnerships',
  'upsell to larger plans',
  'marketing efficiency',
] as const;

const CONSIDERATIONS = [
  'the context you are working in',
  'the data available',
  'the time frame',
  'your constraints',
  'the trade-offs involved',
  'how success is measured',
  'who is affected',
  'what has worked before',
] as const;

const STEPS = [
  'clarify the goal',
  'gather the relevant facts',
  'compare the main options',
  'pick the simplest one that works',
  'check the result against the goal',
  'write down what was decided',
] as const;

/** FNV-1a, 32 bit: tiny, stable across runs and platforms (unlike anything seeded). */
function hash(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** Three distinct entries of `list`, chosen by `h`. */
function pick3<T>(list: readonly T[], h: number): [T, T, T] {
  const n = list.length;
  const a = h % n;
  const b = (a + 1 + ((h >>> 8) % (n - 1))) % n;
  let c = (b + 1 + ((h >>> 16) % (n - 1))) % n;
  while (c === a || c === b) c = (c + 1) % n;
  return [list[a], list[b], list[c]];
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

function quote(message: string): string {
  const flat = message.replace(/\s+/g, ' ').trim();
  return flat.length > QUOTE_MAX ? flat.slice(0, QUOTE_MAX - 1) + '…' : flat;
}

const SUMMARY =
  /^(?:please\s+)?(?:summari[sz]e|sum up|recap|give (?:me )?(?:a |an )?(?:summary|overview) of)\s+/i;
const LIST = /^(?:please\s+)?(?:list|name|enumerate)\s+/i;
const QUESTION = /^(?:what|why|how|when|where|who|which|is|are|can|could|should|do|does|will)\b/i;

export function mockReply(message: string): string {
  const q = quote(message);
  if (q === '') return 'Mock answer to "": nothing was asked, so there is nothing to answer yet.';
  const h = hash(message);
  const head = `Mock answer to "${q}": `;
  const summary = SUMMARY.exec(q);
  if (summary) {
    const topic = q.slice(summary[0].length).replace(/[.?!]+$/, '') || 'the material';
    const [a, b, c] = pick3(DRIVERS, h);
    const share = 35 + (h % 30);
    return (
      `${head}${capitalize(topic)} come down to three things: ${a}, ${b} and ${c}. ` +
      `${capitalize(a)} mattered most, accounting for roughly ${share}% of the change, ` +
      `while ${c} was the steadiest contributor.`
    );
  }
  if (LIST.test(q)) {
    const [a, b, c] = pick3(STEPS, h);
    return `${head}1. ${capitalize(a)}. 2. ${capitalize(b)}. 3. ${capitalize(c)}.`;
  }
  const [a, b, c] = pick3(CONSIDERATIONS, h);
  if (QUESTION.test(q) || q.endsWith('?')) {
    return (
      `${head}In short, it depends mostly on ${a} and ${b}, with ${c} playing a smaller role. ` +
      `Start with ${a}: it usually settles the question.`
    );
  }
  return (
    `${head}Here is a first pass. The key points are ${a}, ${b} and ${c}; ` +
    `${a} deserves the most attention.`
  );
}

/** One tool result the mock saw in its prompt. */
export interface ToolOutcome {
  tool: string;
  /** the result as text (JSON for structured results) */
  text: string;
  error: boolean;
}

const TOOL_QUOTE_MAX = 200;

/** The mock's answer after a tool step: it quotes every result, in order, so tests can find them. */
export function mockToolReply(message: string, outcomes: readonly ToolOutcome[]): string {
  const results = outcomes.map(({ tool, text, error }) => {
    const flat = text.replace(/\s+/g, ' ').trim().replace(/\.+$/, '');
    const shownText = flat.length > TOOL_QUOTE_MAX ? flat.slice(0, TOOL_QUOTE_MAX - 1) + '…' : flat;
    return `${tool} ${error ? 'failed' : 'returned'} ${shownText}`;
  });
  return `Mock answer to "${quote(message)}" using tools: ${results.join('; ')}.`;
}
