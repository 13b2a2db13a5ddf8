/** Agents: the list, and a form to create one. */
import { type FormEvent, useState } from 'react';
import { AgentFields, readAgentForm } from '../components/AgentForm';
import { api } from '../lib/api';
import { useCursorList } from '../lib/list';
import { Link, navigate } from '../lib/router';
import { useCan } from '../lib/session';
import type { Agent } from '../lib/types';
import { Empty, ErrorBox, Loading, PageHeader, Pager, useAction, when } from '../lib/ui';

export default function Agents() {
  const can = useCan();
  const list = useCursorList<Agent>('/v2/agents', {});
  const [creating, setCreating] = useState(false);
  const create = useAction();

  const submit = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const form = event.currentTarget;
    void create.run(async () => {
      const agent = await api<Agent>('/v2/agents', { method: 'POST', body: readAgentForm(form) });
      navigate(`/agents/${agent.id}`);
    });
  };

  return (
    <section>
      <PageHeader title="Agents">
        {can('agents:write') && !creating && (
          <button type="button" className="primary" onClick={() => setCreating(true)}>
            New agent
          </button>
        )}
      </PageHeader>
      {creating && (
        <form className="card" onSubmit={submit} aria-label="New agent">
          <h2>New agent</h2>
          <AgentFields />
          <ErrorBox error={create.error} />
          <div className="form-actions">
            <button type="submit" className="primary" disabled={create.busy}>
              {create.busy ? 'Creating…' : 'Create agent'}
            </button>
            <button type="button" onClick={() => setCreating(false)}>
              Cancel
            </button>
          </div>
        </form>
      )}
      <ErrorBox error={list.error} />
      {list.loading && !list.data && <Loading />}
      {list.data && list.items.length === 0 && (
        <Empty>
          No agents yet.
          {can('agents:write') ? ' Create one to run it, deploy it and watch it here.' : ''}
        </Empty>
      )}
      {list.items.length > 0 && (
        <div className="table-wrap">
          <table>
            <thead>
              <tr>
                <th>Name</th>
                <th>Model</th>
                <th className="hide-narrow">Version</th>
                <th className="hide-narrow">Updated</th>
              </tr>
            </thead>
            <tbody>
              {list.items.map((agent) => (
                <tr key={agent.id}>
                  <td className="wrap">
                    <Link to={`/agents/${agent.id}`}>{agent.name}</Link>
                    {agent.description && <div className="muted">{agent.description}</div>}
                  </td>
                  <td className="mono wrap">{agent.model ?? '(code)'}</td>
                  <td className="hide-narrow">{agent.version}</td>
                  <td className="hide-narrow">{when(agent.updated_at)}</td>
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
