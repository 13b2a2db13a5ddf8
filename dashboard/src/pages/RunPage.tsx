/**
 * One run: input, output, tool calls, guardrail findings, tokens and latency; while it runs, its
 * event stream live (GET /v2/runs/{id}/events) and a cancel button.
 */
import { useEffect, useState } from 'react';
import { api } from '../lib/api';
import { Link } from '../lib/router';
import { useCan } from '../lib/session';
import { streamEvents } from '../lib/sse';
import { type Run, TERMINAL_RUN } from '../lib/types';
import { ErrorBox, Json, Loading, PageHeader, Status, useAction, useAsync, when } from '../lib/ui';

interface RunEvent {
  type: string;
  sequence_number: number;
  created_at: string;
  delta?: string;
  run?: Run;
  message?: string;
  tool?: string;
  name?: string;
}

export default function RunPage({ id }: { id: string }) {
  const can = useCan();
  const loaded = useAsync((signal) => api<Run>(`/v2/runs/${encodeURIComponent(id)}`, { signal }), [id]);
  const [run, setRun] = useState<Run | null>(null);
  const [events, setEvents] = useState<RunEvent[]>([]);
  const [streamed, setStreamed] = useState('');
  const [streamError, setStreamError] = useState<unknown>(null);
  const cancel = useAction();

  useEffect(() => {
    if (loaded.data) setRun(loaded.data);
  }, [loaded.data]);

  const live = run !== null && !TERMINAL_RUN.has(run.status);
  // biome-ignore lint/correctness/useExhaustiveDependencies: one stream per run while it is live
  useEffect(() => {
    if (!loaded.data) return;
    const controller = new AbortController();
    setEvents([]);
    setStreamed('');
    streamEvents(`/v2/runs/${loaded.data.id}/events`, { signal: controller.signal }, (message) => {
      const event = JSON.parse(message.data) as RunEvent;
      setEvents((all) => [...all.slice(-499), event]);
      if (event.delta) setStreamed((s) => s + event.delta);
      if (event.run) setRun(event.run);
    }).catch((e) => {
      if ((e as Error).name !== 'AbortError') setStreamError(e);
    });
    return () => controller.abort();
  }, [loaded.data?.id]);

  if (loaded.loading && !loaded.data) return <Loading />;
  if (!run) return <ErrorBox error={loaded.error} />;

  return (
    <section>
      <p className="crumbs">
        <Link to="/runs">Runs</Link> /
      </p>
      <PageHeader
        title={
          <>
            <span className="mono">{run.id}</span> <Status value={run.status} />
          </>
        }
      >
        {live && can('runs:write') && (
          <button
            type="button"
            className="danger"
            disabled={cancel.busy}
            onClick={() =>
              void cancel.run(async () => setRun(await api<Run>(`/v2/runs/${run.id}`, { method: 'DELETE' })))
            }
          >
            {cancel.busy ? 'Cancelling…' : 'Cancel run'}
          </button>
        )}
      </PageHeader>
      <ErrorBox error={cancel.error ?? streamError} />
      <div className="stats">
        <div className="stat">
          <span className="stat-label">Tokens</span>
          <span className="stat-value">
            {run.tokens_used}{' '}
            <small>
              ({run.usage.input_tokens} in, {run.usage.output_tokens} out)
            </small>
          </span>
        </div>
        <div className="stat">
          <span className="stat-label">Latency</span>
          <span className="stat-value">{run.latency_ms === null ? '—' : `${run.latency_ms} ms`}</span>
        </div>
        <div className="stat">
          <span className="stat-label">Model</span>
          <span className="stat-value mono small-value">{run.model ?? '—'}</span>
        </div>
        <div className="stat">
          <span className="stat-label">Tool calls</span>
          <span className="stat-value">{run.tool_calls.length}</span>
        </div>
      </div>
      <div className="card">
        <dl className="kv">
          <dt>Agent</dt>
          <dd>
            <Link to={`/agents/${run.agent_id}`}>{run.agent_id}</Link>
          </dd>
          <dt>Deployment</dt>
          <dd className="mono">{run.deployment_id ?? '— (current configuration)'}</dd>
          {run.pipeline_run_id && (
            <>
              <dt>Pipeline run</dt>
              <dd className="mono">
                {run.pipeline_run_id} (step {run.step_id})
              </dd>
            </>
          )}
          <dt>Created</dt>
          <dd>{when(run.created_at)}</dd>
          <dt>Started</dt>
          <dd>{when(run.started_at)}</dd>
          <dt>Ended</dt>
          <dd>{when(run.completed_at)}</dd>
          {Object.keys(run.metadata).length > 0 && (
            <>
              <dt>Metadata</dt>
              <dd>
                <Json value={run.metadata} />
              </dd>
            </>
          )}
        </dl>
      </div>
      <div className="grid-2">
        <div className="card">
          <h2>Input</h2>
          <Json value={run.input} />
        </div>
        <div className="card">
          <h2>Output</h2>
          {run.error && <ErrorBox error={new Error(`${run.error.code}: ${run.error.message}`)} />}
          {run.error?.stack && <pre className="json">{run.error.stack}</pre>}
          {run.output !== null ? (
            <Json value={run.output} />
          ) : live ? (
            <div className="output" data-testid="live-output" aria-live="polite">
              {streamed || 'Waiting for output…'}
            </div>
          ) : (
            !run.error && <span className="muted">No output.</span>
          )}
        </div>
      </div>
      <div className="card">
        <h2>Tool calls</h2>
        {run.tool_calls.length === 0 ? (
          <p className="muted">The model called no tools.</p>
        ) : (
          <div className="table-wrap">
            <table>
              <thead>
                <tr>
                  <th>Tool</th>
                  <th>Input</th>
                  <th>Result</th>
                  <th>Time</th>
                </tr>
              </thead>
              <tbody>
                {run.tool_calls.map((call) => (
                  <tr key={call.id}>
                    <td className="mono">{call.name}</td>
                    <td>
                      <Json value={call.input} />
                    </td>
                    <td>
                      {call.error ? (
                        <span className="status status-failed">
                          {call.error.code}: {call.error.message}
                        </span>
                      ) : (
                        <Json value={call.output} />
                      )}
                    </td>
                    <td>{call.duration_ms} ms</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </div>
      <div className="card">
        <h2>Guardrail findings</h2>
        {run.guardrails.length === 0 ? (
          <p className="muted">No guardrail rule matched.</p>
        ) : (
          <ul>
            {run.guardrails.map((g) => (
              <li key={`${g.rule}-${g.action}`}>
                <span className="mono">{g.rule}</span>: {g.action} ×{g.count}
              </li>
            ))}
          </ul>
        )}
      </div>
      <div className="card">
        <h2>Events {live && <span className="status status-running">live</span>}</h2>
        <div className="log" role="log" aria-label="Run events">
          {events.length === 0 && <span className="muted">No events yet.</span>}
          {events.map((e) => (
            <div key={e.sequence_number}>
              <span className="muted">{e.created_at.slice(11, 23)}</span> {e.type}
              {e.delta ? ` ${JSON.stringify(e.delta)}` : ''}
              {e.message ? ` ${e.message}` : ''}
              {e.run ? ` → ${e.run.status}` : ''}
            </div>
          ))}
        </div>
      </div>
    </section>
  );
}
