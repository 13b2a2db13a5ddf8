/** Runs per minute, error rate, p95 latency and tokens over time (GET /v2/metrics), and usage. */
import { useState } from 'react';
import { Chart } from '../components/Chart';
import { UsageBar } from '../components/UsageBar';
import { api, query, rateLimit } from '../lib/api';
import { Link } from '../lib/router';
import { type Organization, useCan, useSession } from '../lib/session';
import { ErrorBox, Loading, PageHeader, useAsync } from '../lib/ui';

interface Metric {
  interval: string;
  series: { group: Record<string, string>; points: { t: string; value: number | null }[] }[];
}

const RANGES = [
  { id: '1h', label: 'Last hour', ms: 3_600_000, interval: '1m', perMinute: 1 },
  { id: '24h', label: 'Last 24 hours', ms: 86_400_000, interval: '5m', perMinute: 5 },
  { id: '7d', label: 'Last 7 days', ms: 7 * 86_400_000, interval: '1h', perMinute: 60 },
] as const;

async function metric(name: string, stat: string, interval: string, from: string, signal: AbortSignal) {
  const body = await api<Metric>(`/v2/metrics${query({ metric: name, stat, interval, from })}`, { signal });
  return body.series[0]?.points ?? [];
}

export default function Overview() {
  const [rangeId, setRangeId] = useState<(typeof RANGES)[number]['id']>('1h');
  const range = RANGES.find((r) => r.id === rangeId) ?? RANGES[0];
  const can = useCan();
  const { me } = useSession();
  const { data, error, loading } = useAsync(
    async (signal) => {
      const from = new Date(Date.now() - range.ms).toISOString();
      const [runs, errors, p95, tokens] = await Promise.all([
        metric('runs', 'count', range.interval, from, signal),
        metric('errors', 'count', range.interval, from, signal),
        metric('run_latency_ms', 'p95', range.interval, from, signal),
        metric('tokens_used', 'sum', range.interval, from, signal),
      ]);
      const x = runs.map((p) => Date.parse(p.t) / 1000);
      const total = (points: { value: number | null }[]) => points.reduce((s, p) => s + (p.value ?? 0), 0);
      return {
        x,
        runsPerMinute: runs.map((p) => (p.value ?? 0) / range.perMinute),
        errorRate: runs.map((p, i) => (p.value ? ((errors[i]?.value ?? 0) / p.value) * 100 : null)),
        p95: p95.map((p) => p.value),
        tokens: tokens.map((p) => p.value ?? 0),
        totals: { runs: total(runs), errors: total(errors), tokens: total(tokens) },
      };
    },
    [rangeId],
  );
  const limit = rateLimit();
  const org = useAsync((signal) => api<Organization>('/v2/organization', { signal }), []);
  const plan = org.data ?? me.organization;

  return (
    <section>
      <PageHeader title="Overview">
        <label className="inline">
          Range{' '}
          <select value={rangeId} onChange={(e) => setRangeId(e.target.value as typeof rangeId)}>
            {RANGES.map((r) => (
              <option key={r.id} value={r.id}>
                {r.label}
              </option>
            ))}
          </select>
        </label>
      </PageHeader>
      {!can('metrics:read') && <p className="notice">Your role cannot read metrics.</p>}
      <ErrorBox error={error} />
      {loading && !data && <Loading label="Loading metrics…" />}
      {data && (
        <>
          <div className="stats">
            <div className="stat">
              <span className="stat-label">Runs</span>
              <span className="stat-value" data-testid="total-runs">
                {data.totals.runs}
              </span>
            </div>
            <div className="stat">
              <span className="stat-label">Errors</span>
              <span className="stat-value">
                {data.totals.errors}
                {data.totals.runs > 0 && (
                  <small> ({((data.totals.errors / data.totals.runs) * 100).toFixed(1)} %)</small>
                )}
              </span>
            </div>
            <div className="stat">
              <span className="stat-label">Tokens</span>
              <span className="stat-value">{data.totals.tokens.toLocaleString()}</span>
            </div>
            <div className="stat">
              <span className="stat-label">Plan</span>
              <span className="stat-value">
                <Link to="/settings/plan">{plan.plan}</Link>
              </span>
            </div>
          </div>
          {data.totals.runs === 0 && (
            <p className="empty">
              No runs ended in this range yet. <Link to="/agents">Try an agent</Link> to see numbers here.
            </p>
          )}
          <div className="charts">
            <figure className="card">
              <figcaption>Runs per minute</figcaption>
              <Chart title="Runs per minute" x={data.x} y={data.runsPerMinute} />
            </figure>
            <figure className="card">
              <figcaption>Error rate</figcaption>
              <Chart title="Error rate" x={data.x} y={data.errorRate} unit=" %" color="#d9480f" />
            </figure>
            <figure className="card">
              <figcaption>p95 latency</figcaption>
              <Chart title="p95 latency" x={data.x} y={data.p95} unit=" ms" color="#7048e8" />
            </figure>
            <figure className="card">
              <figcaption>Tokens</figcaption>
              <Chart title="Tokens" x={data.x} y={data.tokens} color="#2b8a3e" />
            </figure>
          </div>
        </>
      )}
      <div className="card usage">
        <h2>Usage against the plan</h2>
        {limit ? (
          <UsageBar
            label="API requests left this minute"
            used={limit.remaining}
            max={plan.limits?.burst ?? limit.limit}
            note={`refills at ${limit.limit} a minute`}
          />
        ) : (
          <p className="muted">No request counted yet.</p>
        )}
        {plan.limits && (
          <p className="muted">
            The {plan.plan} plan allows {plan.limits.requests_per_minute} requests a minute (bursts up to{' '}
            {plan.limits.burst}), shared by every key and session of the organization.
          </p>
        )}
      </div>
    </section>
  );
}
