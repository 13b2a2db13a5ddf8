/**
 * Settings → API keys: create (the secret shown once, with copy), rotate (the old secret keeps
 * working for 24 h: shown counting down), revoke, scopes. Needs `keys:admin`, and from a web login
 * the password within the last 10 minutes (sudo mode).
 */
import { type FormEvent, useEffect, useState } from 'react';
import { ConfirmButton } from '../components/Confirm';
import { ShownOnce } from '../components/Secret';
import { useSudo } from '../components/Sudo';
import { api } from '../lib/api';
import { useCursorList } from '../lib/list';
import { useCan } from '../lib/session';
import { Empty, ErrorBox, Loading, PageHeader, Pager, Status, useAction, when } from '../lib/ui';

interface ApiKey {
  id: string;
  name: string;
  redacted_value: string;
  scopes: string[];
  created_at: string;
  last_used_at: string | null;
  revoked_at: string | null;
}
interface ApiKeyWithSecret extends ApiKey {
  secret: string;
  previous_secret_expires_at?: string;
}

export const SCOPES = [
  'organization:read',
  'agents:read',
  'agents:write',
  'runs:read',
  'runs:write',
  'deployments:read',
  'deployments:write',
  'pipelines:read',
  'pipelines:write',
  'metrics:read',
  'audit:read',
  'alerts:read',
  'alerts:write',
  'guardrails:read',
  'guardrails:write',
  'connectors:read',
  'connectors:write',
  'connectors:private',
  'members:read',
  'members:write',
  'keys:admin',
];

/** `23:59:58` until `iso`, ticking every second; `expired` after. */
export function Countdown({ until }: { until: string }) {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(timer);
  }, []);
  const left = Math.max(0, Date.parse(until) - now);
  if (left === 0) return <span>expired</span>;
  const s = Math.floor(left / 1000);
  const pad = (n: number) => String(n).padStart(2, '0');
  return (
    <span className="mono" title={until}>
      {pad(Math.floor(s / 3600))}:{pad(Math.floor((s % 3600) / 60))}:{pad(s % 60)}
    </span>
  );
}

export default function Keys() {
  const can = useCan();
  const list = useCursorList<ApiKey>('/v2/api-keys', {}, 50);
  const [creating, setCreating] = useState(false);
  const [shown, setShown] = useState<{ label: string; secret: string } | null>(null);
  // rotations made here: the old secret's end of grace (not a secret; lost on reload)
  const [grace, setGrace] = useState<Record<string, string>>({});
  const action = useAction();
  const { guard, prompt } = useSudo();

  const create = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const name = String(form.get('name') ?? '').trim();
    const scopes = form.getAll('scopes').map(String);
    void action.run(() =>
      guard(async () => {
        const key = await api<ApiKeyWithSecret>('/v2/api-keys', {
          method: 'POST',
          body: { ...(name ? { name } : {}), scopes },
        });
        setCreating(false);
        setShown({ label: `New key “${key.name}”`, secret: key.secret });
        list.first();
        list.reload();
      }),
    );
  };

  const rotate = (key: ApiKey) =>
    void action.run(() =>
      guard(async () => {
        const rotated = await api<ApiKeyWithSecret>(`/v2/api-keys/${key.id}/rotate`, { method: 'POST' });
        setShown({ label: `New secret for “${key.name}”`, secret: rotated.secret });
        const until = rotated.previous_secret_expires_at;
        if (until) setGrace((g) => ({ ...g, [key.id]: until }));
        list.reload();
      }),
    );

  const revoke = (key: ApiKey) =>
    void action.run(() =>
      guard(async () => {
        await api(`/v2/api-keys/${key.id}`, { method: 'DELETE' });
        list.reload();
      }),
    );

  return (
    <section>
      <PageHeader title="API keys">
        {can('keys:admin') && !creating && (
          <button type="button" className="primary" onClick={() => setCreating(true)}>
            Create key
          </button>
        )}
      </PageHeader>
      {!can('keys:admin') && (
        <p className="notice">
          Managing keys needs the keys:admin scope (owners and admins). A session started with an API key
          never has it.
        </p>
      )}
      {prompt}
      {shown && <ShownOnce label={shown.label} secret={shown.secret} onDone={() => setShown(null)} />}
      {creating && (
        <form className="card" onSubmit={create} aria-label="New API key">
          <h2>New API key</h2>
          <label>
            Name
            <input name="name" maxLength={100} placeholder="CI deploys" />
          </label>
          <fieldset>
            <legend>Scopes</legend>
            <div className="checks">
              {SCOPES.map((scope) => (
                <label key={scope} className="check">
                  <input
                    type="checkbox"
                    name="scopes"
                    value={scope}
                    defaultChecked={scope.endsWith(':read')}
                  />
                  <span className="mono">{scope}</span>
                </label>
              ))}
            </div>
          </fieldset>
          <div className="form-actions">
            <button type="submit" className="primary" disabled={action.busy}>
              {action.busy ? 'Creating…' : 'Create key'}
            </button>
            <button type="button" onClick={() => setCreating(false)}>
              Cancel
            </button>
          </div>
        </form>
      )}
      <ErrorBox error={action.error ?? list.error} />
      {list.loading && !list.data && <Loading />}
      {list.data && list.items.length === 0 && <Empty>No API keys yet.</Empty>}
      {list.items.length > 0 && (
        <div className="table-wrap">
          <table>
            <thead>
              <tr>
                <th>Name</th>
                <th>Key</th>
                <th className="hide-narrow">Scopes</th>
                <th className="hide-narrow">Last used</th>
                <th>
                  <span className="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {list.items.map((key) => (
                <tr key={key.id}>
                  <td className="wrap">
                    {key.name}
                    {key.revoked_at && (
                      <div>
                        <Status value="revoked" />
                      </div>
                    )}
                    {grace[key.id] && !key.revoked_at && (
                      <div className="muted">
                        old secret works for <Countdown until={grace[key.id]} />
                      </div>
                    )}
                  </td>
                  <td className="mono wrap">{key.redacted_value}</td>
                  <td className="hide-narrow wrap">
                    <details>
                      <summary>{key.scopes.length} scopes</summary>
                      <span className="mono">{key.scopes.join(' ')}</span>
                    </details>
                  </td>
                  <td className="hide-narrow">{when(key.last_used_at)}</td>
                  <td>
                    {can('keys:admin') && !key.revoked_at && (
                      <div className="form-actions">
                        <ConfirmButton
                          label="Rotate"
                          confirm="Issue a new secret? The old one works 24 h more."
                          busy={action.busy}
                          onConfirm={() => rotate(key)}
                        />
                        <ConfirmButton
                          label="Revoke"
                          confirm="Revoke now? Callers using it fail at once."
                          busy={action.busy}
                          onConfirm={() => revoke(key)}
                        />
                      </div>
                    )}
                  </td>
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
