/** Settings → plan and usage: the plan's limits, this minute's requests, this month's runs and tokens. */
import { UsageBar } from '../components/UsageBar';
import { api, query, rateLimit } from '../lib/api';
import type { Organization } from '../lib/session';
import { ErrorBox, Loading, PageHeader, useAsync, when } from '../lib/ui';

interface Metric {
  series: { points: { value: number | null }[] }[];
}

export default function Plan() {
  const data = useAsync(async (signal) => {
    const org = await api<Organization & { created_at: string }>('/v2/organization', { signal });
    const now = new Date();
    const month = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1)).toISOString();
    const sum = async (metric: string, stat: string) => {
      const body = await api<Metric>(`/v2/metrics${query({ metric, stat, interval: '1d', from: month })}`, {
        signal,
      });
      return (body.series[0]?.points ?? []).reduce((s, p) => s + (p.value ?? 0), 0);
    };
    const [runs, tokens, errors] = await Promise.all([
      sum('runs', 'count'),
      sum('tokens_used', 'sum'),
      sum('errors', 'count'),
    ]);
    return { org, runs, tokens, errors, month };
  }, []);
  const limit = rateLimit();
  if (data.loading && !data.data) return <Loading />;
  if (!data.data) return <ErrorBox error={data.error} />;
  const { org, runs, tokens, errors, month } = data.data;
  return (
    <section>
      <PageHeader title="Plan and usage" />
      <div className="card">
        <dl className="kv">
          <dt>Organization</dt>
          <dd>
            {org.name} <span className="mono muted">{org.id}</span>
          </dd>
          <dt>Plan</dt>
          <dd>
            <strong>{org.plan}</strong>
          </dd>
          <dt>Rate limit</dt>
          <dd>
            {org.limits?.requests_per_minute ?? '—'} requests a minute, bursts up to{' '}
            {org.limits?.burst ?? '—'}, for every key and session together
          </dd>
          <dt>Since</dt>
          <dd>{when(org.created_at)}</dd>
        </dl>
      </div>
      <div className="card">
        <h2>This minute</h2>
        {limit && (
          <UsageBar
            label="API requests left"
            used={limit.remaining}
            max={org.limits?.burst ?? limit.limit}
            note={`refills at ${limit.limit} a minute`}
          />
        )}
      </div>
      <div className="card">
        <h2>Since {when(month)}</h2>
        <div className="stats">
          <div className="stat">
            <span className="stat-label">Runs</span>
            <span className="stat-value">{runs.toLocaleString()}</span>
          </div>
          <div className="stat">
            <span className="stat-label">Failed</span>
            <span className="stat-value">{errors.toLocaleString()}</span>
          </div>
          <div className="stat">
            <span className="stat-label">Tokens</span>
            <span className="stat-value">{tokens.toLocaleString()}</span>
          </div>
        </div>
      </div>
    </section>
  );
}
