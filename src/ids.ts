import { monotonicFactory } from 'ulid';

/** Every public id is a type prefix plus a ULID, so ids sort by creation time (our list order). */
export const IdPrefixes = {
  organization: 'org',
  apiKey: 'key',
  sessionToken: 'tok',
  agent: 'ag',
  deployment: 'dep',
  run: 'run',
  pipeline: 'pl',
  pipelineRun: 'prun',
  alert: 'alr',
  user: 'usr',
  request: 'req',
  auditLog: 'log',
  job: 'job',
} as const;
export type IdPrefix = (typeof IdPrefixes)[keyof typeof IdPrefixes];

export type IdFactory = (prefix: IdPrefix) => string;

/** Monotonic within a process, so two ids minted in the same millisecond still sort in order. */
export function createIdFactory(now: () => number = Date.now): IdFactory {
  const ulid = monotonicFactory();
  return (prefix) => `${prefix}_${ulid(now())}`;
}

export function hasPrefix(id: string, prefix: IdPrefix): boolean {
  return id.startsWith(`${prefix}_`) && /^[a-z]+_[0-9A-HJKMNP-TV-Z]{26}$/.test(id);
}
