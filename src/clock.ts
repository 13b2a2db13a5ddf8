/** The one place time comes from, so tests can move it (rate limits, token expiry, key rotation). */
export interface Clock {
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

// A busy server formats the same millisecond many times (a run's rows and events): remember the last.
let lastMs = Number.NaN;
let lastIso = '';

export const iso = (ms: number | null | undefined): string | null => {
  if (ms === null || ms === undefined) return null;
  if (ms !== lastMs) {
    lastIso = new Date(ms).toISOString();
    lastMs = ms;
  }
  return lastIso;
};
