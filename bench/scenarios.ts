/** The benchmark scenarios, each loaded against the same bare baseline. */
export interface BenchContext {
  base: string;
  auth: Record<string, string>;
  ca: string;
}

export interface Scenario {
  name: string;
  method: 'GET' | 'POST';
  path: string;
  setup?: (ctx: BenchContext) => Promise<unknown>;
  body?: (setup: unknown) => unknown;
  report?: (ctx: { base: string; auth: Record<string, string>; setup: unknown }) => Promise<string>;
}

export const scenarios: Scenario[] = [
  { name: 'GET /v2/organization (auth + rate limit)', method: 'GET', path: '/v2/organization' },
];
