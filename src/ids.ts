/**
 * Every public id is a type prefix plus a ULID (26 Crockford base32 chars: 48-bit ms time, 80 random
 * bits), so ids sort by creation time — the order of every list.
 *
 * Our own generator rather than the `ulid` package's: ids are minted on every request (request ids),
 * and drawing randomness from a pooled buffer instead of one crypto call per id was a measurable
 * share of a request's cost. Monotonic within a process: in the same millisecond the random part is
 * incremented, so ids minted in one ms still sort in order.
 */
import { randomFillSync } from 'node:crypto';

export const IdPrefixes = {
  organization: 'org',
  apiKey: 'key',
  sessionToken: 'tok',
  agent: 'ag',
  deployment: 'dep',
  run: 'run',
  pipeline: 'pl',
  pipelineRun: 'prun',
  pipelineSchedule: 'sch',
  alert: 'alr',
  alertEvent: 'alrev',
  webhookDelivery: 'whdel',
  user: 'usr',
  userSession: 'sess',
  invitation: 'inv',
  request: 'req',
  auditLog: 'log',
  job: 'job',
  guardrailPolicy: 'gp',
  connector: 'conn',
  event: 'evt',
} as const;
export type IdPrefix = (typeof IdPrefixes)[keyof typeof IdPrefixes];

export type IdFactory = (prefix: IdPrefix) => string;

const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
const POOL_SIZE = 4096;

export function createIdFactory(now: () => number = Date.now): IdFactory {
  const pool = Buffer.alloc(POOL_SIZE);
  let offset = POOL_SIZE;
  let lastTime = -1;
  const random = new Uint8Array(16); // 16 base32 digits of 5 bits = 80 bits
  const fresh = () => {
    if (offset + 16 > POOL_SIZE) {
      randomFillSync(pool);
      offset = 0;
    }
    for (let i = 0; i < 16; i++) random[i] = pool[offset + i] & 31;
    offset += 16;
  };
  const increment = () => {
    for (let i = 15; i >= 0; i--) {
      if (random[i] < 31) {
        random[i]++;
        return;
      }
      random[i] = 0;
    }
  };
  return (prefix) => {
    let t = now();
    if (t <= lastTime) {
      t = lastTime;
      increment();
    } else {
      lastTime = t;
      fresh();
    }
    let time = '';
    for (let i = 0; i < 10; i++) {
      time = CROCKFORD[t % 32] + time;
      t = Math.floor(t / 32);
    }
    let rand = '';
    for (let i = 0; i < 16; i++) rand += CROCKFORD[random[i]];
    return `${prefix}_${time}${rand}`;
  };
}

export function hasPrefix(id: string, prefix: IdPrefix): boolean {
  return id.startsWith(`${prefix}_`) && /^[a-z]+_[0-9A-HJKMNP-TV-Z]{26}$/.test(id);
}
