/**
 * "Try it": sends an input to the agent (POST /v2/runs with stream: true) and shows the output as
 * it streams in, then the run's tokens and latency; a running run can be cancelled.
 */
import { type FormEvent, useEffect, useRef, useState } from 'react';
import { api } from '../lib/api';
import { Link } from '../lib/router';
import { useCan } from '../lib/session';
import { streamEvents } from '../lib/sse';
import type { Run } from '../lib/types';
import { ErrorBox, Status } from '../lib/ui';

/** A JSON object is sent as the input; any other text as `{"query": text}`. */
export function parseInput(text: string): Record<string, unknown> {
  const trimmed = text.trim();
  if (trimmed.startsWith('{')) {
    try {
      const value = JSON.parse(trimmed);
      if (value && typeof value === 'object' && !Array.isArray(value)) return value;
    } catch {
      // plain text after all
    }
  }
  return { query: text };
}

export function TryIt({ agentId }: { agentId: string }) {
  const can = useCan();
  const [output, setOutput] = useState('');
  const [run, setRun] = useState<Run | null>(null);
  const [status, setStatus] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const controller = useRef<AbortController | null>(null);
  useEffect(() => () => controller.current?.abort(), []);

  const submit = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const text = String(new FormData(event.currentTarget).get('input') ?? '');
    controller.current?.abort();
    const abort = new AbortController();
    controller.current = abort;
    setOutput('');
    setRun(null);
    setError(null);
    setStatus('queued');
    setBusy(true);
    streamEvents(
      '/v2/runs',
      {
        method: 'POST',
        body: { agent_id: agentId, input: parseInput(text), stream: true },
        signal: abort.signal,
      },
      (message) => {
        const data = JSON.parse(message.data) as { type: string; delta?: string; run?: Run };
        if (data.run) setRun(data.run);
        if (data.type === 'run.output.delta' && data.delta) setOutput((o) => o + data.delta);
        if (data.type.startsWith('run.')) {
          const s = data.run?.status ?? (data.type === 'run.started' ? 'running' : null);
          if (s) setStatus(s);
        }
      },
    )
      .catch((e) => {
        if ((e as Error).name !== 'AbortError') setError(e);
      })
      .finally(() => setBusy(false));
  };

  const cancel = async () => {
    if (!run) return;
    try {
      const cancelled = await api<Run>(`/v2/runs/${run.id}`, { method: 'DELETE' });
      setRun(cancelled);
      setStatus(cancelled.status);
    } catch (e) {
      setError(e);
    }
  };

  if (!can('runs:write')) return null;
  const final = run && run.status !== 'queued' && run.status !== 'running' ? run : null;
  return (
    <section className="card" aria-labelledby="try-it">
      <h2 id="try-it">Try it</h2>
      <form onSubmit={submit}>
        <label>
          Input
          <textarea
            name="input"
            rows={3}
            placeholder='Ask something, or a JSON object such as {"query": "…"}'
            required
          />
        </label>
        <div className="form-actions">
          <button type="submit" className="primary" disabled={busy}>
            {busy ? 'Running…' : 'Run'}
          </button>
          {busy && run && (
            <button type="button" className="danger" onClick={cancel}>
              Cancel run
            </button>
          )}
          {status && <Status value={status} />}
          {run && <Link to={`/runs/${run.id}`}>{run.id}</Link>}
        </div>
      </form>
      <ErrorBox error={error} />
      {(output || busy || final) && (
        <div className="output" aria-live="polite" data-testid="try-output">
          {output ||
            (final?.output !== undefined && final.output !== null ? JSON.stringify(final.output) : '') ||
            '…'}
        </div>
      )}
      {final?.error && <ErrorBox error={new Error(`${final.error.code}: ${final.error.message}`)} />}
      {final && (
        <p className="muted">
          {final.tokens_used} tokens ({final.usage.input_tokens} in, {final.usage.output_tokens} out)
          {final.latency_ms !== null ? ` · ${final.latency_ms} ms` : ''}
        </p>
      )}
    </section>
  );
}
