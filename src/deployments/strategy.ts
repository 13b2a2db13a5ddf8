/**
 * A deployment's rollout strategy, as POST /v2/deployments takes it and as it is stored (normalized).
 *
 *   {"type": "immediate"}                       today's switch: active once validated (the default)
 *   {"type": "canary", "steps": [10, 50, 100],  the candidate serves 10 %, then 50 %, then 100 % of the
 *    "analysis": {…}}                           environment's runs, one analysis interval per step, and
 *                                               is promoted after the last step passes
 *   {"type": "canary", "traffic_percent": 10}   one step of 10 %, then promotion
 *
 * The body field is typed loosely on purpose (like the metrics query string): every field is checked
 * here, so a bad strategy is a 422 naming the field (`strategy.analysis.interval_s`), never a 400 from
 * the schema layer, and nothing is created.
 */
import { unprocessable } from '../errors.ts';

export const CanaryMetricNames = ['error_rate', 'latency_p95_ms', 'guardrail_block_rate'] as const;
export type CanaryMetricName = (typeof CanaryMetricNames)[number];
export const NoDataPolicies = ['wait', 'fail', 'pass'] as const;
export type NoDataPolicy = (typeof NoDataPolicies)[number];

export interface CanaryAnalysisSpec {
  interval_s: number;
  min_runs: number;
  failure_limit: number;
  on_no_data: NoDataPolicy;
  metrics: { name: CanaryMetricName; max: number }[];
}

export interface CanaryStrategy {
  type: 'canary';
  steps: number[];
  analysis: CanaryAnalysisSpec;
}

export const DEFAULT_ANALYSIS: CanaryAnalysisSpec = {
  interval_s: 60,
  min_runs: 20,
  failure_limit: 0,
  on_no_data: 'wait',
  metrics: [{ name: 'error_rate', max: 0.05 }],
};

const MAX_INTERVAL_S = 86_400;
const MAX_MIN_RUNS = 1_000_000;
const MAX_FAILURE_LIMIT = 100;
const MAX_STEPS = 20;

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

const bad = (param: string, message: string) =>
  unprocessable('invalid_strategy', `Invalid ${param}: ${message}`, param);

function only(value: Record<string, unknown>, allowed: string[], at: string) {
  for (const key of Object.keys(value))
    if (!allowed.includes(key)) throw bad(`${at}.${key}`, `unknown field (known: ${allowed.join(', ')})`);
}

function int(value: unknown, param: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max)
    throw bad(param, `must be an integer from ${min} to ${max}`);
  return value;
}

function percent(value: unknown, param: string): number {
  return int(value, param, 1, 100);
}

function parseAnalysis(value: unknown): CanaryAnalysisSpec {
  const at = 'strategy.analysis';
  if (value === undefined) return DEFAULT_ANALYSIS;
  if (!isObject(value)) throw bad(at, 'must be an object');
  only(value, ['interval_s', 'min_runs', 'failure_limit', 'on_no_data', 'metrics'], at);
  const spec: CanaryAnalysisSpec = {
    interval_s:
      value.interval_s === undefined
        ? DEFAULT_ANALYSIS.interval_s
        : int(value.interval_s, `${at}.interval_s`, 1, MAX_INTERVAL_S),
    min_runs:
      value.min_runs === undefined
        ? DEFAULT_ANALYSIS.min_runs
        : int(value.min_runs, `${at}.min_runs`, 0, MAX_MIN_RUNS),
    failure_limit:
      value.failure_limit === undefined
        ? DEFAULT_ANALYSIS.failure_limit
        : int(value.failure_limit, `${at}.failure_limit`, 0, MAX_FAILURE_LIMIT),
    on_no_data: DEFAULT_ANALYSIS.on_no_data,
    metrics: DEFAULT_ANALYSIS.metrics,
  };
  if (value.on_no_data !== undefined) {
    if (!NoDataPolicies.includes(value.on_no_data as NoDataPolicy))
      throw bad(`${at}.on_no_data`, `must be one of ${NoDataPolicies.join(', ')}`);
    spec.on_no_data = value.on_no_data as NoDataPolicy;
  }
  if (value.metrics !== undefined) {
    if (!Array.isArray(value.metrics) || value.metrics.length === 0 || value.metrics.length > 3)
      throw bad(`${at}.metrics`, 'must be a list of 1 to 3 metrics');
    const seen = new Set<string>();
    spec.metrics = value.metrics.map((m, i) => {
      const p = `${at}.metrics[${i}]`;
      if (!isObject(m)) throw bad(p, 'must be {"name": …, "max": …}');
      only(m, ['name', 'max'], p);
      if (!CanaryMetricNames.includes(m.name as CanaryMetricName))
        throw bad(`${p}.name`, `must be one of ${CanaryMetricNames.join(', ')}`);
      if (seen.has(m.name as string)) throw bad(`${p}.name`, `${m.name} is listed twice`);
      seen.add(m.name as string);
      const isRate = m.name !== 'latency_p95_ms';
      if (typeof m.max !== 'number' || !Number.isFinite(m.max) || m.max < 0 || (isRate && m.max > 1))
        throw bad(
          `${p}.max`,
          isRate ? 'must be a number from 0 to 1 (a share of runs)' : 'must be a number ≥ 0 (ms)',
        );
      return { name: m.name as CanaryMetricName, max: m.max };
    });
  }
  return spec;
}

/** The normalized strategy, or null for the immediate switch; throws a 422 naming the bad field. */
export function parseStrategy(value: unknown): CanaryStrategy | null {
  if (value === undefined || value === null) return null;
  if (!isObject(value)) throw bad('strategy', 'must be an object');
  if (value.type === 'immediate') {
    only(value, ['type'], 'strategy');
    return null;
  }
  if (value.type !== 'canary') throw bad('strategy.type', 'must be "canary" or "immediate"');
  only(value, ['type', 'traffic_percent', 'steps', 'analysis'], 'strategy');
  let steps: number[];
  if (value.steps !== undefined) {
    if (!Array.isArray(value.steps) || value.steps.length === 0 || value.steps.length > MAX_STEPS)
      throw bad('strategy.steps', `must be a list of 1 to ${MAX_STEPS} percentages`);
    steps = value.steps.map((s, i) => percent(s, `strategy.steps[${i}]`));
    for (let i = 1; i < steps.length; i++)
      if (steps[i] <= steps[i - 1]) throw bad(`strategy.steps[${i}]`, 'steps must increase');
    if (value.traffic_percent !== undefined) {
      const first = percent(value.traffic_percent, 'strategy.traffic_percent');
      if (first !== steps[0])
        throw bad('strategy.traffic_percent', `is the first step's share: ${steps[0]} here, or leave it out`);
    }
  } else if (value.traffic_percent !== undefined) {
    steps = [percent(value.traffic_percent, 'strategy.traffic_percent')];
  } else throw bad('strategy.steps', 'a canary needs `steps` or `traffic_percent`');
  return { type: 'canary', steps, analysis: parseAnalysis(value.analysis) };
}
