/**
 * Canary rollouts: a validated deployment whose strategy is `canary` does not replace the active
 * deployment at once. It becomes `canary` and serves a share of the environment's runs (the current
 * step's percentage) while the active one serves the rest, and an analysis runs once per interval:
 *
 *   canary (step i) ──analysis passes, steps left──▶ canary (step i+1, a larger share)
 *        │          ──analysis passes, last step───▶ active        (the old active: superseded)
 *        │          ──fails, failures ≤ limit──────▶ canary (same step, counted)
 *        │          ──fails, failures > limit──────▶ rolled_back   (serves nothing from then on)
 *        ├──POST /promote──▶ active          └──POST /abort (or /rollback)──▶ rolled_back
 *        └──a newer deployment activates──▶ superseded
 *
 * Semantics follow Argo Rollouts' analysis (a measurement per interval; `failure_limit` failed
 * measurements are tolerated, one more aborts) with Flagger's metric checks (each metric a maximum).
 * An analysis measures the candidate's own runs that ended since its step began (or since its last
 * failed measurement) and until a quarter second ago (a run that just ended may not be committed
 * yet; the next window starts where this one ended, so each run is measured once): `error_rate` = failed, timed-out or expired runs / runs (cancelled runs are the
 * caller's choice and not counted), `latency_p95_ms` = nearest-rank p95 of their latency,
 * `guardrail_block_rate` = runs failed `guardrail_blocked` by an output guardrail / runs.
 *
 * No data: fewer than `min_runs` runs in the window is inconclusive. `on_no_data` decides: `wait`
 * (default) keeps the step and its window and looks again next interval (the share does not rise
 * on too little evidence, and nothing is counted against the candidate); `fail` counts it as a
 * failed measurement, as Flagger does; `pass` lets the step advance.
 *
 * Routing: a run with a `routing_key` (or, without one, the request's Idempotency-Key) is hashed
 * into one of 10,000 buckets; buckets below share × 100 go to the candidate, so a key stays on the
 * candidate as its share rises and a retried request is served by the same version. A run with
 * neither is routed at random.
 *
 * Every piece of state (step, share, window start, next analysis, failures, last figures) is on the
 * deployment row, so an analysis resumes after a crash. The analyzer runs once per cluster per tick
 * (infra/queue/ticks.ts); each transition is conditional on the row's `canary_next_at` as read,
 * under the agent's lock, so two analyzers that still meet move a canary once.
 */
import { createHash } from 'node:crypto';
import type { Kysely } from 'kysely';
import { iso } from '../clock.ts';
import type { Database, DeploymentRow } from '../infra/db/schema.ts';
import type { CanaryAnalysisSpec, CanaryMetricName, CanaryStrategy } from './strategy.ts';

export const ROUTING_BUCKETS = 10_000;

/** Which of ROUTING_BUCKETS a key falls into (stable across processes and restarts). */
export function routingBucket(key: string): number {
  return createHash('sha256').update(key).digest().readUInt32BE(0) % ROUTING_BUCKETS;
}

/** Whether a run goes to a canary serving `percent` %: by its key when it has one, else at random. */
export function routesToCanary(percent: number, key: string | undefined, random = Math.random): boolean {
  if (percent <= 0) return false;
  if (percent >= 100) return true;
  const bucket = key === undefined ? Math.floor(random() * ROUTING_BUCKETS) : routingBucket(key);
  return bucket < percent * (ROUTING_BUCKETS / 100);
}

export interface MetricFigure {
  name: CanaryMetricName;
  value: number | null;
  max: number;
  passed: boolean;
}

/** One analysis, as stored on the deployment and shown in its `canary.last_analysis`. */
export interface CanaryAnalysis {
  at: string;
  step: number;
  traffic_percent: number;
  window_from: string;
  runs: number;
  result: 'passed' | 'failed' | 'inconclusive';
  metrics: MetricFigure[];
  message: string;
}

/** What an analysis reads: the candidate's runs that ended in the window. */
export interface RunSample {
  status: string;
  latency_ms: number | null;
  guardrail_blocked: boolean;
}

export async function sampleRuns(
  k: Kysely<Database>,
  deploymentId: string,
  from: number,
  to: number,
): Promise<RunSample[]> {
  const rows = await k
    .selectFrom('runs')
    .select(['status', 'latency_ms', 'error'])
    .where('deployment_id', '=', deploymentId)
    .where('completed_at', '>=', from)
    .where('completed_at', '<', to)
    .where('status', 'in', ['completed', 'failed', 'timed_out', 'expired'])
    .execute();
  return rows.map((r) => ({
    status: r.status,
    latency_ms: r.latency_ms === null ? null : Number(r.latency_ms),
    guardrail_blocked: r.error?.includes('"guardrail_blocked"') === true,
  }));
}

function p95(values: number[]): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.max(0, Math.ceil(0.95 * sorted.length) - 1)];
}

const round = (v: number | null) => (v === null ? null : Math.round(v * 10_000) / 10_000);

export function figure(name: CanaryMetricName, runs: RunSample[]): number | null {
  if (runs.length === 0) return null;
  switch (name) {
    case 'error_rate':
      return round(runs.filter((r) => r.status !== 'completed').length / runs.length);
    case 'guardrail_block_rate':
      return round(runs.filter((r) => r.guardrail_blocked).length / runs.length);
    case 'latency_p95_ms':
      return p95(runs.flatMap((r) => (r.latency_ms === null ? [] : [r.latency_ms])));
  }
}

const unit = (name: CanaryMetricName, v: number | null) =>
  v === null ? 'no value' : name === 'latency_p95_ms' ? `${v} ms` : `${round(v)}`;

/** Judges a window of runs against the analysis spec. */
export function analyze(
  spec: CanaryAnalysisSpec,
  runs: RunSample[],
  at: { now: number; from: number; step: number; percent: number },
): CanaryAnalysis {
  const metrics = spec.metrics.map((m): MetricFigure => {
    const value = figure(m.name, runs);
    return { name: m.name, value, max: m.max, passed: value === null || value <= m.max };
  });
  const base = {
    at: iso(at.now)!,
    step: at.step,
    traffic_percent: at.percent,
    window_from: iso(at.from)!,
    runs: runs.length,
    metrics,
  };
  if (runs.length < spec.min_runs || runs.length === 0) {
    return {
      ...base,
      result: 'inconclusive',
      message: `No data: ${runs.length} of the ${spec.min_runs} runs an analysis needs ended since ${base.window_from}`,
    };
  }
  const failed = metrics.filter((m) => !m.passed);
  const figures = metrics
    .map((m) => `${m.name} ${unit(m.name, m.value)} (max ${unit(m.name, m.max)})`)
    .join(', ');
  if (failed.length > 0) {
    const what = failed
      .map((m) => `${m.name} ${unit(m.name, m.value)} > max ${unit(m.name, m.max)}`)
      .join('; ');
    return { ...base, result: 'failed', message: `Analysis failed over ${runs.length} runs: ${what}` };
  }
  return { ...base, result: 'passed', message: `Analysis passed over ${runs.length} runs: ${figures}` };
}

/** The `canary` object of a deployment (null when it never was one). */
export function toCanaryView(row: DeploymentRow) {
  if (!row.strategy) return null;
  const strategy = JSON.parse(row.strategy) as CanaryStrategy;
  const step = row.canary_step ?? null;
  return {
    traffic_percent: row.canary_percent ?? 0,
    step: step === null ? null : step + 1,
    steps: strategy.steps,
    step_started_at: iso(row.canary_step_started_at ?? null),
    next_analysis_at: row.status === 'canary' ? iso(row.canary_next_at ?? null) : null,
    failures: row.canary_failures ?? 0,
    last_analysis: row.canary_analysis ? (JSON.parse(row.canary_analysis) as CanaryAnalysis) : null,
  };
}
