/** Audit log: every change and sign-in, filtered, with the hash chain's verification. */
import type { FormEvent } from 'react';
import { useState } from 'react';
import { api, query } from '../lib/api';
import { useCursorList } from '../lib/list';
import { navigate, useLocation } from '../lib/router';
import { Empty, ErrorBox, Loading, PageHeader, Pager, Status, useAction, when } from '../lib/ui';

interface Entry {
  id: string;
  seq: number;
  action: string;
  actor: { type: string; id: string | null };
  resource: { type: string; id: string | null } | null;
  outcome: string;
  status_code: number | null;
  request_id: string | null;
  ip: string | null;
  changes: string[];
  created_at: string;
}
interface Verification {
  valid: boolean;
  checked: number;
  first_broken?: { id: string | null; seq: number; reason: string };
}

const FIELDS = ['action', 'actor_id', 'resource_type', 'resource_id'] as const;

export default function Audit() {
  const loc = useLocation();
  const params = Object.fromEntries(
    [...FIELDS, 'outcome', 'created_after', 'created_before'].map((k) => [k, loc.search.get(k) ?? undefined]),
  );
  const list = useCursorList<Entry>('/v2/logs', params, 50);
  const verify = useAction();
  const [result, setResult] = useState<Verification | null>(null);

  const apply = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const next: Record<string, string> = {};
    for (const k of [...FIELDS, 'outcome']) next[k] = String(form.get(k) ?? '').trim();
    const from = String(form.get('from') ?? '');
    const to = String(form.get('to') ?? '');
    if (from) next.created_after = new Date(from).toISOString();
    if (to) next.created_before = new Date(to).toISOString();
    navigate(`/audit${query(next)}`, { replace: true });
  };

  return (
    <section>
      <PageHeader title="Audit log">
        <button
          type="button"
          disabled={verify.busy}
          onClick={() => void verify.run(async () => setResult(await api<Verification>('/v2/logs/verify')))}
        >
          {verify.busy ? 'Verifying…' : 'Verify the chain'}
        </button>
      </PageHeader>
      <ErrorBox error={verify.error} />
      {result &&
        (result.valid ? (
          <p className="success" role="status">
            The chain is intact: {result.checked} entries checked.
          </p>
        ) : (
          <p className="error" role="status">
            The chain is broken at entry {result.first_broken?.seq} ({result.first_broken?.reason}) after{' '}
            {result.checked} entries.
          </p>
        ))}
      <form className="card filters" onSubmit={apply} aria-label="Filter the audit log" key={loc.href}>
        {FIELDS.map((k) => (
          <label key={k}>
            {k.replace('_', ' ')}
            <input name={k} defaultValue={loc.search.get(k) ?? ''} />
          </label>
        ))}
        <label>
          outcome
          <select name="outcome" defaultValue={loc.search.get('outcome') ?? ''}>
            <option value="">any</option>
            <option value="success">success</option>
            <option value="denied">denied</option>
            <option value="failed">failed</option>
          </select>
        </label>
        <label>
          from
          <input type="datetime-local" name="from" />
        </label>
        <label>
          to
          <input type="datetime-local" name="to" />
        </label>
        <button type="submit" className="primary">
          Apply
        </button>
      </form>
      <ErrorBox error={list.error} />
      {list.loading && !list.data && <Loading />}
      {list.data && list.items.length === 0 && <Empty>No entries match.</Empty>}
      {list.items.length > 0 && (
        <div className="table-wrap">
          <table>
            <thead>
              <tr>
                <th>When</th>
                <th>Action</th>
                <th>Outcome</th>
                <th className="hide-narrow">Actor</th>
                <th className="hide-narrow">Resource</th>
                <th className="hide-narrow">Request</th>
              </tr>
            </thead>
            <tbody>
              {list.items.map((e) => (
                <tr key={e.id}>
                  <td>{when(e.created_at)}</td>
                  <td className="mono wrap">
                    {e.action}
                    {e.changes.length > 0 && <div className="muted">{e.changes.join(', ')}</div>}
                  </td>
                  <td>
                    <Status value={e.outcome} />
                    {e.status_code ? <span className="muted"> {e.status_code}</span> : null}
                  </td>
                  <td className="hide-narrow mono wrap">
                    {e.actor.type} {e.actor.id}
                  </td>
                  <td className="hide-narrow mono wrap">
                    {e.resource ? `${e.resource.type} ${e.resource.id ?? ''}` : '—'}
                  </td>
                  <td className="hide-narrow mono wrap">{e.request_id ?? '—'}</td>
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
