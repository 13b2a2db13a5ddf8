/**
 * Cron arithmetic for schedules, on croner (a maintained parser that follows Vixie cron's DST rules,
 * as croner-rust does):
 * - a fixed-time job (single minute and hour, e.g. `30 2 * * *`) whose time falls in a
 *   spring-forward gap runs at the first valid time after the gap, the same day; one whose time
 *   occurs twice (autumn) runs once, at the first occurrence;
 * - an interval job (`*\/15 * * * *`, `0 1,2 * * *`) skips times in a gap and runs on both passes
 *   of a repeated hour.
 * Patterns have five fields (minute granularity); seconds-level schedules are refused.
 */
import { Cron } from 'croner';

export interface CronSpec {
  cron: string;
  timezone: string;
}

/** The problem with a spec, naming the field, or null when it is valid. */
export function cronProblem(spec: CronSpec): { param: 'cron' | 'timezone'; message: string } | null {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: spec.timezone });
  } catch {
    return {
      param: 'timezone',
      message: `Unknown time zone '${spec.timezone}' (use an IANA name such as Europe/Berlin)`,
    };
  }
  try {
    const job = compile(spec);
    if (job.nextRun(new Date(0)) === null)
      return { param: 'cron', message: `The cron expression '${spec.cron}' never fires` };
  } catch (err) {
    return { param: 'cron', message: `Invalid cron expression '${spec.cron}': ${(err as Error).message}` };
  }
  return null;
}

function compile(spec: CronSpec): Cron {
  if (spec.cron.trim().split(/\s+/).length !== 5)
    throw new Error('a cron expression has five fields: minute hour day-of-month month day-of-week');
  return new Cron(spec.cron, { timezone: spec.timezone, mode: '5-part', paused: true });
}

/** The first tick strictly after `after` (ms), or null if the pattern has no more. */
export function nextTick(spec: CronSpec, after: number): number | null {
  return compile(spec).nextRun(new Date(after))?.getTime() ?? null;
}

/**
 * The latest tick at or before `now` that is not before `from`: the one tick a schedule fires after
 * downtime (the misfire policy: the latest missed tick runs once, the ones before it are skipped).
 */
export function latestDueTick(spec: CronSpec, from: number, now: number): number {
  const previous = compile(spec)
    .previousRuns(1, new Date(now + 1))[0]
    ?.getTime();
  return previous !== undefined && previous >= from ? previous : from;
}
