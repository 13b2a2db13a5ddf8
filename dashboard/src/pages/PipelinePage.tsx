/** One pipeline: its DAG, trigger, its runs, and a run's steps live (SSE, the graph recolors). */
import { type FormEvent, useEffect, useState } from 'react';
import { Dag } from '../components/Dag';
import { parseInput } from '../components/TryIt';
import { api, type List, query } from '../lib/api';
import { Link } from '../lib/router';
import { useCan } from '../lib/session';
import { streamEvents } from '../lib/sse';
import { Empty, ErrorBox, Json, Loading, PageHeader, Status, useAction, useAsync, when } from '../lib/ui';
import type { Pipeline } from './Pipelines';

interface PipelineRun {
  id: string;
  status: string;
  input: unknown;
  output: unknown;
  steps: {
    id: string;
    status: string;
    run_ids: string[];
    attempts: number;
    error: { message: string } | null;
  }[];
  tokens_used: number;
  latency_ms: number | null;
  created_at: string;
}

const TERMINAL = new Set(['completed', 'failed', 'cancelled', 'timed_out']);

function RunDetail({ pipeline, runId }: { pipeline: Pipeline; runId: string }) {
  const [run, setRun] = useState<PipelineRun | null>(null);
  const [error, setError] = useState<unknown>(null);
  const cancel = useAction();
  const can = useCan();
  useEffect(() => {
    const controller = new AbortController();
    const path = `/v2/pipelines/${pipeline.id}/runs/${runId}`;
    const refresh = () =>
      api<PipelineRun>(path, { signal: controller.signal }).then(setRun, (e) => {
        if ((e as Error).name !== 'AbortError') setError(e);
      });
    void refresh();
    // every event changes a step's state: re-read the run (small) rather than patch it here
    streamEvents(`${path}/events`, { signal: controller.signal }, () => void refresh()).catch((e) => {
      if ((e as Error).name !== 'AbortError') setError(e);
    });
    return () => controller.abort();
  }, [pipeline.id, runId]);
  if (!run) return error ? <ErrorBox error={error} /> : <Loading />;
  const states = Object.fromEntries(run.steps.map((s) => [s.id, s.status]));
  return (
    <section className="card" aria-label={`Pipeline run ${run.id}`}>
      <h2>
        Run <span className="mono">{run.id}</span> <Status value={run.status} />{' '}
        {!TERMINAL.has(run.status) && can('pipelines:write') && (
          <button
            type="button"
            className="danger"
            onClick={() =>
              void cancel.run(() =>
                api(`/v2/pipelines/${pipeline.id}/runs/${run.id}/cancel`, { method: 'POST' }).then(
                  () => undefined,
                ),
              )
            }
          >
            Cancel
          </button>
        )}
      </h2>
      <ErrorBox error={cancel.error ?? error} />
      <div className="dag-wrap">
        <Dag steps={pipeline.steps} states={states} />
      </div>
      <div className="table-wrap">
        <table>
          <thead>
            <tr>
              <th>Step</th>
              <th>State</th>
              <th>Attempts</th>
              <th>Runs</th>
            </tr>
          </thead>
          <tbody>
            {run.steps.map((s) => (
              <tr key={s.id}>
                <td className="mono">{s.id}</td>
                <td>
                  <Status value={s.status} />
                  {s.error && <div className="muted wrap">{s.error.message}</div>}
                </td>
                <td>{s.attempts}</td>
                <td className="wrap">
                  {s.run_ids.map((id) => (
                    <div key={id}>
                      <Link to={`/runs/${id}`}>{id}</Link>
                    </div>
                  ))}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <div className="grid-2">
        <div>
          <h3>Input</h3>
          <Json value={run.input} />
        </div>
        <div>
          <h3>Output</h3>
          <Json value={run.output} />
        </div>
      </div>
    </section>
  );
}

export default function PipelinePage({ id }: { id: string }) {
  const can = useCan();
  const pipeline = useAsync(
    (signal) => api<Pipeline>(`/v2/pipelines/${encodeURIComponent(id)}`, { signal }),
    [id],
  );
  const runs = useAsync(
    (signal) =>
      api<List<PipelineRun>>(`/v2/pipelines/${encodeURIComponent(id)}/runs${query({ limit: 20 })}`, {
        signal,
      }),
    [id],
  );
  const [selected, setSelected] = useState<string | null>(null);
  const trigger = useAction();

  if (pipeline.loading && !pipeline.data) return <Loading />;
  if (!pipeline.data) return <ErrorBox error={pipeline.error} />;
  const p = pipeline.data;

  const submit = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const text = String(new FormData(event.currentTarget).get('input') ?? '');
    void trigger.run(async () => {
      const run = await api<PipelineRun>(`/v2/pipelines/${p.id}/trigger`, {
        method: 'POST',
        body: { input: text.trim() ? parseInput(text) : {} },
      });
      setSelected(run.id);
      runs.reload();
    });
  };

  return (
    <section>
      <p className="crumbs">
        <Link to="/pipelines">Pipelines</Link> /
      </p>
      <PageHeader title={p.name} />
      {p.description && <p>{p.description}</p>}
      <div className="card">
        <h2>Steps</h2>
        <div className="dag-wrap">
          <Dag steps={p.steps} />
        </div>
      </div>
      {can('pipelines:write') && (
        <form className="card" onSubmit={submit} aria-label="Trigger">
          <label>
            Input (JSON object, or text sent as {'{"query": …}'})
            <textarea name="input" rows={3} />
          </label>
          <ErrorBox error={trigger.error} />
          <button type="submit" className="primary" disabled={trigger.busy}>
            {trigger.busy ? 'Starting…' : 'Trigger a run'}
          </button>
        </form>
      )}
      {selected && <RunDetail pipeline={p} runId={selected} />}
      <div className="card">
        <h2>Runs</h2>
        <ErrorBox error={runs.error} />
        {runs.data && runs.data.data.length === 0 && <Empty>Not run yet.</Empty>}
        {runs.data && runs.data.data.length > 0 && (
          <ul className="plain">
            {runs.data.data.map((r) => (
              <li key={r.id}>
                <button type="button" className="link-button mono" onClick={() => setSelected(r.id)}>
                  {r.id}
                </button>{' '}
                <Status value={r.status} /> <span className="muted">{when(r.created_at)}</span>
              </li>
            ))}
          </ul>
        )}
      </div>
    </section>
  );
}
