/** One agent: its configuration (edit, delete), versions and deployments, and "try it". */
import { type FormEvent, useState } from 'react';
import { AgentFields, readAgentForm } from '../components/AgentForm';
import { ConfirmButton } from '../components/Confirm';
import { Deployments } from '../components/Deployments';
import { TryIt } from '../components/TryIt';
import { api } from '../lib/api';
import { Link, navigate } from '../lib/router';
import { useCan } from '../lib/session';
import type { Agent } from '../lib/types';
import { ErrorBox, Json, Loading, PageHeader, useAction, useAsync, when } from '../lib/ui';

export default function AgentPage({ id }: { id: string }) {
  const can = useCan();
  const agent = useAsync((signal) => api<Agent>(`/v2/agents/${encodeURIComponent(id)}`, { signal }), [id]);
  const [editing, setEditing] = useState(false);
  const save = useAction();
  const remove = useAction();

  if (agent.loading && !agent.data) return <Loading />;
  if (!agent.data) return <ErrorBox error={agent.error} />;
  const a = agent.data;

  const submit = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const form = event.currentTarget;
    void save.run(async () => {
      await api<Agent>(`/v2/agents/${a.id}`, { method: 'PATCH', body: readAgentForm(form) });
      setEditing(false);
      agent.reload();
    });
  };

  return (
    <section>
      <p className="crumbs">
        <Link to="/agents">Agents</Link> /
      </p>
      <PageHeader title={a.name}>
        {can('agents:write') && !editing && (
          <button type="button" onClick={() => setEditing(true)}>
            Edit
          </button>
        )}
        <Link to={`/runs?agent_id=${a.id}`} className="button">
          Runs
        </Link>
        {can('agents:write') && (
          <ConfirmButton
            label="Delete"
            confirm={`Delete ${a.name}?`}
            busy={remove.busy}
            onConfirm={() =>
              void remove.run(async () => {
                await api(`/v2/agents/${a.id}`, { method: 'DELETE' });
                navigate('/agents');
              })
            }
          />
        )}
      </PageHeader>
      <ErrorBox error={remove.error} />
      {editing ? (
        <form className="card" onSubmit={submit} aria-label="Edit agent">
          <h2>Edit agent</h2>
          <AgentFields agent={a} />
          <ErrorBox error={save.error} />
          <div className="form-actions">
            <button type="submit" className="primary" disabled={save.busy}>
              {save.busy ? 'Saving…' : 'Save'}
            </button>
            <button type="button" onClick={() => setEditing(false)}>
              Cancel
            </button>
          </div>
        </form>
      ) : (
        <div className="card">
          <dl className="kv">
            <dt>ID</dt>
            <dd className="mono">{a.id}</dd>
            <dt>Model</dt>
            <dd className="mono">{a.model ?? '(code agent)'}</dd>
            <dt>Description</dt>
            <dd>{a.description ?? '—'}</dd>
            <dt>Configuration</dt>
            <dd>
              version {a.version}, updated {when(a.updated_at)}
            </dd>
            <dt>Instructions</dt>
            <dd>{a.instructions ?? '—'}</dd>
            <dt>Parameters</dt>
            <dd>
              <Json value={a.parameters} />
            </dd>
          </dl>
        </div>
      )}
      <TryIt agentId={a.id} />
      <Deployments agentId={a.id} />
    </section>
  );
}
