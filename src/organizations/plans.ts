import type { LimitPolicy } from '../infra/limiter/limiter.ts';

export const Plans = ['demo', 'free', 'developer', 'business', 'enterprise'] as const;
export type Plan = (typeof Plans)[number];
export const isPlan = (s: string): s is Plan => (Plans as readonly string[]).includes(s);

/** The reference's table; demo is "low rate limits", below free. Enterprise is set per org. */
const LIMITS: Record<Exclude<Plan, 'enterprise'>, LimitPolicy> = {
  demo: { rpm: 60, burst: 90 },
  free: { rpm: 100, burst: 150 },
  developer: { rpm: 1_000, burst: 1_500 },
  business: { rpm: 10_000, burst: 15_000 },
};
const ENTERPRISE_DEFAULT: LimitPolicy = { rpm: 100_000, burst: 150_000 };

export function limitsFor(plan: string, custom: { rpm: number | null; burst: number | null }): LimitPolicy {
  if (plan === 'enterprise') {
    const rpm = custom.rpm ?? ENTERPRISE_DEFAULT.rpm;
    return { rpm, burst: custom.burst ?? Math.ceil(rpm * 1.5) };
  }
  return LIMITS[plan as Exclude<Plan, 'enterprise'>] ?? LIMITS.free;
}
