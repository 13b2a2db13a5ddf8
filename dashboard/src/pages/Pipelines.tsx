/** Pipelines: the list, and a new pipeline from its JSON definition (docs/pipelines.md). */
import { type FormEvent, useState } from 'react';
import { api } from '../lib/api';
import { useCursorList } from '../lib/list';
import { Link, navigate } from '../lib/router';
import { useCan } from '../lib/session';
import { Empty, ErrorBox, Loading, PageHeader, Pager, useAction, when } from '../lib/ui';

export interface Pipeline {
  id: string;
  name: string;
  description: string | null;
  version: number;
  steps: { id: string; agent_id: string; depends_on?: string[] }[];
  created_at: string;
  updated_at?: string;
}

const EXAMPLE = `{
  "name": "brief",
  "steps": [
    {"id": "research", "agent_id": "ag_…", "input": {"query": "Key facts about {{ input.topic }}"}},
    {"id": "draft", "agent_id": "ag_…", "depends_on": ["research"],
     "input": {"query": "Write a brief from: {{ steps.research.output.result }}"}}
  ]
}`;

export default function Pipelines() {
  const can = useCan();
  const list = useCursorList<Pipeline>('/v2/pipelines', {});
  const [creating, setCreating] = useState(false);
  const create = useAction();

  const submit = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const text = String(new FormData(event.currentTarget).get('definition') ?? '');
    void create.run(async () => {
      let body: unknown;
      try {
        body = JSON.parse(text);
      } catch {
        throw new Error('The definition is not valid JSON');
      }
      const created = await api<Pipeline>('/v2/pipelines', { method: 'POST', body });
      navigate(`/pipelines/${created.id}`);
    });
  };

  return (
    <section>
      <PageHeader title="Pipelines">
        {can('pipelines:write') && !creating && (
          <button type="button" className="primary" onClick={() => setCreating(true)}>
            New pipeline
          </button>
        )}
      </PageHeader>
      {creating && (
        <form className="card" onSubmit={submit} aria-label="New pipeline">
          <label>
            Definition (JSON)
            <textarea name="definition" rows={12} defaultValue={EXAMPLE} />
          </label>
          <ErrorBox error={create.error} />
          <div className="form-actions">
            <button type="submit" className="primary" disabled={create.busy}>
              Create pipeline
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
        <Empty>No pipelines yet: chain agents into a DAG of steps.</Empty>
      )}
      {list.items.length > 0 && (
        <div className="table-wrap">
          <table>
            <thead>
              <tr>
                <th>Name</th>
                <th>Steps</th>
                <th className="hide-narrow">Version</th>
                <th className="hide-narrow">Created</th>
              </tr>
            </thead>
            <tbody>
              {list.items.map((p) => (
                <tr key={p.id}>
                  <td className="wrap">
                    <Link to={`/pipelines/${p.id}`}>{p.name}</Link>
                  </td>
                  <td>{p.steps.length}</td>
                  <td className="hide-narrow">{p.version}</td>
                  <td className="hide-narrow">{when(p.created_at)}</td>
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
