/**
 * Runs: filters (status, agent, deployment, time range) kept in the address (shareable, back/forward work),
 * cursor pagination (fast at any number of runs: the server seeks by id, never counts or offsets).
 */
import type { FormEvent } from 'react';
import { api, type List, query } from '../lib/api';
import { useCursorList } from '../lib/list';
import { Link, navigate, useLocation } from '../lib/router';
import { type Agent, RUN_STATUSES, type Run } from '../lib/types';
import { Empty, ErrorBox, Loading, PageHeader, Pager, Status, useAsync, when } from '../lib/ui';

const RANGES: Record<string, number> = { '1h': 3_600_000, '24h': 86_400_000, '7d': 7 * 86_400_000 };

/** `2026-12-07T14:00` (a datetime-local value, local time) → RFC 3339 UTC. */
const toIso = (local: string | null) => (local ? new Date(local).toISOString() : undefined);

export default function Runs() {
  const loc = useLocation();
  const status = loc.search.getAll('status');
  const agentId = loc.search.get('agent_id') ?? '';
  const deploymentId = loc.search.get('deployment_id') ?? '';
  const range = loc.search.get('range') ?? '';
  const after = loc.search.get('from');
  const before = loc.search.get('to');
  const createdAfter = RANGES[range] ? new Date(Date.now() - RANGES[range]).toISOString() : toIso(after);
  const list = useCursorList<Run>('/v2/runs', {
    status,
    agent_id: agentId,
    deployment_id: deploymentId,
    created_after: createdAfter,
    created_before: RANGES[range] ? undefined : toIso(before),
  });
  const agents = useAsync((signal) => api<List<Agent>>(`/v2/agents${query({ limit: 100 })}`, { signal }), []);
  const names = new Map((agents.data?.data ?? []).map((a) => [a.id, a.name]));

  const apply = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const params: Record<string, string | string[]> = {
      status: form.getAll('status').map(String),
      agent_id: String(form.get('agent_id') ?? ''),
      deployment_id: String(form.get('deployment_id') ?? '').trim(),
      range: String(form.get('range') ?? ''),
    };
    if (params.range === 'custom') {
      params.from = String(form.get('from') ?? '');
      params.to = String(form.get('to') ?? '');
    }
    navigate(`/runs${query(params)}`, { replace: true });
  };

  const filtered = status.length > 0 || agentId || deploymentId || range;
  return (
    <section>
      <PageHeader title="Runs" />
      <form className="card filters" onSubmit={apply} aria-label="Filter runs" key={loc.href}>
        <fieldset>
          <legend>Status</legend>
          <div className="checks">
            {RUN_STATUSES.map((s) => (
              <label key={s} className="check">
                <input type="checkbox" name="status" value={s} defaultChecked={status.includes(s)} />
                {s.replace('_', ' ')}
              </label>
            ))}
          </div>
        </fieldset>
        <label>
          Agent
          <select name="agent_id" defaultValue={agentId}>
            <option value="">All agents</option>
            {(agents.data?.data ?? []).map((a) => (
              <option key={a.id} value={a.id}>
                {a.name}
              </option>
            ))}
            {agentId && !names.has(agentId) && <option value={agentId}>{agentId}</option>}
          </select>
        </label>
        <label>
          Deployment
          <input name="deployment_id" defaultValue={deploymentId} placeholder="dep_…" spellCheck={false} />
        </label>
        <label>
          Created
          <select name="range" defaultValue={range}>
            <option value="">Any time</option>
            <option value="1h">Last hour</option>
            <option value="24h">Last 24 hours</option>
            <option value="7d">Last 7 days</option>
            <option value="custom">Between…</option>
          </select>
        </label>
        {range === 'custom' && (
          <>
            <label>
              From
              <input type="datetime-local" name="from" defaultValue={after ?? ''} />
            </label>
            <label>
              To
              <input type="datetime-local" name="to" defaultValue={before ?? ''} />
            </label>
          </>
        )}
        <div className="form-actions">
          <button type="submit" className="primary">
            Apply
          </button>
          {filtered && (
            <button type="button" onClick={() => navigate('/runs', { replace: true })}>
              Clear
            </button>
          )}
        </div>
      </form>
      <ErrorBox error={list.error} />
      {list.loading && !list.data && <Loading label="Loading runs…" />}
      {list.data && list.items.length === 0 && (
        <Empty>
          {filtered ? 'No run matches these filters.' : 'No runs yet. Run an agent from its page.'}
        </Empty>
      )}
      {list.items.length > 0 && (
        <div className="table-wrap" aria-busy={list.loading}>
          <table>
            <thead>
              <tr>
                <th>Run</th>
                <th>Status</th>
                <th>Agent</th>
                <th className="hide-narrow">Tokens</th>
                <th className="hide-narrow">Latency</th>
                <th className="hide-narrow">Created</th>
              </tr>
            </thead>
            <tbody>
              {list.items.map((run) => (
                <tr key={run.id}>
                  <td className="mono wrap">
                    <Link to={`/runs/${run.id}`}>{run.id}</Link>
                  </td>
                  <td>
                    <Status value={run.status} />
                  </td>
                  <td className="wrap">
                    <Link to={`/agents/${run.agent_id}`}>{names.get(run.agent_id) ?? run.agent_id}</Link>
                  </td>
                  <td className="hide-narrow">{run.tokens_used}</td>
                  <td className="hide-narrow">{run.latency_ms === null ? '—' : `${run.latency_ms} ms`}</td>
                  <td className="hide-narrow">{when(run.created_at)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <Pager hasPrev={list.hasPrev} hasNext={list.hasNext} onPrev={list.prev} onNext={list.next} />
    </section>
  );
}
