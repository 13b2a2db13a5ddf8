/** The one place time comes from, so tests can move it (rate limits, token expiry, key rotation). */
export interface Clock {
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

// A busy server formats the same few milliseconds many times (a run's created, started and
// completed times, each of its events): remember the last few.
const RECENT = 8;
const recentMs = new Float64Array(RECENT).fill(Number.NaN);
const recentIso: string[] = new Array(RECENT).fill('');
let next = 0;

export const iso = (ms: number | null | undefined): string | null => {
  if (ms === null || ms === undefined) return null;
  for (let i = 0; i < RECENT; i++) if (recentMs[i] === ms) return recentIso[i];
  const text = new Date(ms).toISOString();
  recentMs[next] = ms;
  recentIso[next] = text;
  next = (next + 1) % RECENT;
  return text;
};
