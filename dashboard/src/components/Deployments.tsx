/**
 * An agent's versions as deployments: deploy the current configuration, watch a deployment's log
 * live (SSE, GET /v2/deployments/{id}/logs), roll the active one back.
 */
import { type FormEvent, useEffect, useState } from 'react';
import { api, type List, query } from '../lib/api';
import { Link } from '../lib/router';
import { useCan } from '../lib/session';
import { streamEvents } from '../lib/sse';
import type { Deployment } from '../lib/types';
import { Empty, ErrorBox, Loading, Status, useAction, useAsync, when } from '../lib/ui';
import { ConfirmButton } from './Confirm';

interface LogEvent {
  sequence_number: number;
  type: string;
  ts?: string;
  created_at?: string;
  level?: string;
  step?: string;
  status?: string;
  message?: string;
}

function DeploymentLog({ id, onStatus }: { id: string; onStatus: () => void }) {
  const [lines, setLines] = useState<LogEvent[]>([]);
  const [error, setError] = useState<unknown>(null);
  const [live, setLive] = useState(true);
  // biome-ignore lint/correctness/useExhaustiveDependencies: one stream per deployment
  useEffect(() => {
    const controller = new AbortController();
    setLines([]);
    setError(null);
    setLive(true);
    streamEvents(`/v2/deployments/${id}/logs`, { signal: controller.signal }, (message) => {
      const line = JSON.parse(message.data) as LogEvent;
      setLines((all) => [...all.slice(-499), line]);
      if (line.type === 'deployment.status') onStatus();
    })
      .catch((e) => {
        if ((e as Error).name !== 'AbortError') setError(e);
      })
      .finally(() => {
        if (!controller.signal.aborted) setLive(false);
      });
    return () => controller.abort();
  }, [id]);
  return (
    <div className="card">
      <h3>
        Log of {id}{' '}
        {live ? <span className="status status-running">live</span> : <span className="muted">(ended)</span>}
      </h3>
      <ErrorBox error={error} />
      <div className="log" role="log" aria-label="Deployment log" aria-live="polite">
        {lines.length === 0 && <span className="muted">Waiting for the first line…</span>}
        {lines.map((line) => (
          <div key={line.sequence_number}>
            <span className="muted">{(line.ts ?? line.created_at ?? '').slice(11, 23)}</span> [
            {line.step ?? line.type}] {line.message ?? line.status}
          </div>
        ))}
      </div>
    </div>
  );
}

export function Deployments({ agentId }: { agentId: string }) {
  const can = useCan();
  const list = useAsync(
    (signal) =>
      api<List<Deployment>>(`/v2/deployments${query({ agent_id: agentId, limit: 50 })}`, { signal }),
    [agentId],
  );
  const [watching, setWatching] = useState<string | null>(null);
  const deploy = useAction();
  const rollback = useAction();

  const submit = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const environment = String(form.get('environment') ?? '').trim();
    const description = String(form.get('description') ?? '').trim();
    void deploy.run(async () => {
      const created = await api<Deployment>('/v2/deployments', {
        method: 'POST',
        body: {
          agent_id: agentId,
          ...(environment ? { environment } : {}),
          ...(description ? { description } : {}),
        },
      });
      setWatching(created.id);
      list.reload();
    });
  };

  const roll = (id: string) =>
    void rollback.run(async () => {
      const restored = await api<Deployment>(`/v2/deployments/${id}/rollback`, { method: 'POST' });
      list.reload();
      setWatching(restored.id);
    });

  const items = list.data?.data ?? [];
  return (
    <section className="card" aria-labelledby="deployments">
      <h2 id="deployments">Versions and deployments</h2>
      {can('deployments:write') && (
        <form className="filters" onSubmit={submit} aria-label="Deploy">
          <label>
            Environment
            <input name="environment" placeholder="production" pattern="[a-z][a-z0-9_\-]{0,62}" />
          </label>
          <label>
            Description
            <input name="description" placeholder="What changed" />
          </label>
          <button type="submit" className="primary" disabled={deploy.busy}>
            {deploy.busy ? 'Deploying…' : 'Deploy current configuration'}
          </button>
        </form>
      )}
      <ErrorBox error={deploy.error ?? rollback.error ?? list.error} />
      {list.loading && !list.data && <Loading />}
      {list.data && items.length === 0 && (
        <Empty>Not deployed yet: runs use the agent's current configuration.</Empty>
      )}
      {items.length > 0 && (
        <div className="table-wrap">
          <table>
            <thead>
              <tr>
                <th>Version</th>
                <th>Environment</th>
                <th>Status</th>
                <th className="hide-narrow">Created</th>
                <th>
                  <span className="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {items.map((d) => (
                <tr key={d.id}>
                  <td>
                    v{d.version}
                    <div className="muted">agent config v{d.config.agent_version}</div>
                  </td>
                  <td>{d.environment}</td>
                  <td>
                    <Status value={d.status} />
                    {d.status === 'canary' && d.canary && (
                      <div className="muted">
                        step {d.canary.step}: {d.canary.traffic_percent} % of runs
                      </div>
                    )}
                    {d.failed_reason && <div className="muted wrap">{d.failed_reason}</div>}
                  </td>
                  <td className="hide-narrow">{when(d.created_at)}</td>
                  <td>
                    <div className="form-actions">
                      <button
                        type="button"
                        onClick={() => setWatching(d.id)}
                        aria-pressed={watching === d.id}
                      >
                        Logs
                      </button>
                      <Link to={`/runs${query({ deployment_id: d.id })}`}>Runs</Link>
                      {d.status === 'active' && can('deployments:write') && (
                        <ConfirmButton
                          label="Roll back"
                          confirm={`Put the previous version of ${d.environment} back?`}
                          busy={rollback.busy}
                          onConfirm={() => roll(d.id)}
                        />
                      )}
                    </div>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {watching && <DeploymentLog id={watching} onStatus={list.reload} />}
    </section>
  );
}
