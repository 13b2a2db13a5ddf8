/**
 * Settings → members and roles: the organization's users (change a role, remove someone: their
 * sessions end at once), invitations (the token shown once), and your own sessions.
 */
import { type FormEvent, useState } from 'react';
import { ConfirmButton } from '../components/Confirm';
import { ShownOnce } from '../components/Secret';
import { api, type List } from '../lib/api';
import { useCursorList } from '../lib/list';
import { useCan, useSession } from '../lib/session';
import { Empty, ErrorBox, Loading, PageHeader, Pager, useAction, useAsync, when } from '../lib/ui';

const ROLES = ['owner', 'admin', 'developer', 'viewer'];
const ROLE_TEXT: Record<string, string> = {
  owner: 'everything, including owners',
  admin: 'everything but owners',
  developer: 'agents, runs, deployments, pipelines; no keys or members',
  viewer: 'reads only',
};

interface Member {
  id: string;
  email: string;
  name: string;
  role: string;
  created_at: string;
}
interface Invitation {
  id: string;
  email: string;
  role: string;
  created_at: string;
  expires_at: string;
  token?: string;
}
interface SessionItem {
  id: string;
  current: boolean;
  user_agent: string | null;
  ip: string | null;
  created_at: string;
  last_seen_at: string;
  expires_at: string;
}

function Sessions() {
  const sessions = useAsync((signal) => api<List<SessionItem>>('/v2/auth/sessions', { signal }), []);
  const action = useAction();
  return (
    <section className="card" aria-labelledby="sessions">
      <h2 id="sessions">Your sessions</h2>
      <ErrorBox error={sessions.error ?? action.error} />
      {sessions.data && (
        <ul className="plain">
          {sessions.data.data.map((s) => (
            <li key={s.id}>
              <span className="wrap">{s.user_agent ?? 'unknown browser'}</span>{' '}
              <span className="muted">
                from {s.ip ?? '?'} · since {when(s.created_at)} · last seen {when(s.last_seen_at)}
              </span>{' '}
              {s.current ? (
                <strong>this session</strong>
              ) : (
                <button
                  type="button"
                  className="danger"
                  onClick={() =>
                    void action.run(async () => {
                      await api(`/v2/auth/sessions/${s.id}`, { method: 'DELETE' });
                      sessions.reload();
                    })
                  }
                >
                  End
                </button>
              )}
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

export default function Members() {
  const can = useCan();
  const { me } = useSession();
  const members = useCursorList<Member>('/v2/members', {}, 50);
  const invitations = useAsync(
    (signal) =>
      can('members:write') ? api<List<Invitation>>('/v2/invitations', { signal }) : Promise.resolve(null),
    [],
  );
  const [inviting, setInviting] = useState(false);
  const [token, setToken] = useState<string | null>(null);
  const action = useAction();

  const invite = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    void action.run(async () => {
      const created = await api<Invitation>('/v2/invitations', {
        method: 'POST',
        body: { email: String(form.get('email') ?? '').trim(), role: String(form.get('role')) },
      });
      setInviting(false);
      setToken(created.token ?? null);
      invitations.reload();
    });
  };

  return (
    <section>
      <PageHeader title="Members and roles">
        {can('members:write') && !inviting && (
          <button type="button" className="primary" onClick={() => setInviting(true)}>
            Invite someone
          </button>
        )}
      </PageHeader>
      <ul className="roles muted">
        {ROLES.map((r) => (
          <li key={r}>
            <strong>{r}</strong>: {ROLE_TEXT[r]}
          </li>
        ))}
      </ul>
      {token && (
        <ShownOnce
          label="Invitation created: send this link to the invitee"
          secret={`${location.origin}/accept-invitation?token=${encodeURIComponent(token)}`}
          onDone={() => setToken(null)}
        />
      )}
      {inviting && (
        <form className="card filters" onSubmit={invite} aria-label="Invite">
          <label>
            Email
            <input name="email" type="email" required />
          </label>
          <label>
            Role
            <select name="role" defaultValue="developer">
              {ROLES.map((r) => (
                <option key={r} value={r}>
                  {r}
                </option>
              ))}
            </select>
          </label>
          <button type="submit" className="primary" disabled={action.busy}>
            Send invitation
          </button>
          <button type="button" onClick={() => setInviting(false)}>
            Cancel
          </button>
        </form>
      )}
      <ErrorBox error={action.error ?? members.error} />
      {members.loading && !members.data && <Loading />}
      {members.data && members.items.length === 0 && (
        <Empty>No users yet: the first owner is made with `airmy users create`.</Empty>
      )}
      {members.items.length > 0 && (
        <div className="table-wrap">
          <table>
            <thead>
              <tr>
                <th>Name</th>
                <th className="hide-narrow">Email</th>
                <th>Role</th>
                <th>
                  <span className="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {members.items.map((m) => (
                <tr key={m.id}>
                  <td className="wrap">
                    {m.name}
                    {m.email === me.email && <span className="muted"> (you)</span>}
                  </td>
                  <td className="hide-narrow wrap">{m.email}</td>
                  <td>
                    {can('members:write') ? (
                      <select
                        aria-label={`Role of ${m.email}`}
                        value={m.role}
                        onChange={(e) =>
                          void action.run(async () => {
                            await api(`/v2/members/${m.id}`, {
                              method: 'PATCH',
                              body: { role: e.target.value },
                            });
                            members.reload();
                          })
                        }
                      >
                        {ROLES.map((r) => (
                          <option key={r} value={r}>
                            {r}
                          </option>
                        ))}
                      </select>
                    ) : (
                      m.role
                    )}
                  </td>
                  <td>
                    {can('members:write') && (
                      <ConfirmButton
                        label="Remove"
                        confirm={`Remove ${m.email}? Their sessions end now.`}
                        onConfirm={() =>
                          void action.run(async () => {
                            await api(`/v2/members/${m.id}`, { method: 'DELETE' });
                            members.reload();
                          })
                        }
                      />
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <Pager
        hasPrev={members.hasPrev}
        hasNext={members.hasNext}
        onPrev={members.prev}
        onNext={members.next}
      />
      {invitations.data && (
        <section className="card" aria-labelledby="invitations">
          <h2 id="invitations">Open invitations</h2>
          {invitations.data.data.length === 0 ? (
            <p className="muted">No open invitations.</p>
          ) : (
            <ul className="plain">
              {invitations.data.data.map((i) => (
                <li key={i.id}>
                  {i.email} as <strong>{i.role}</strong>{' '}
                  <span className="muted">until {when(i.expires_at)}</span>{' '}
                  <button
                    type="button"
                    className="danger"
                    onClick={() =>
                      void action.run(async () => {
                        await api(`/v2/invitations/${i.id}`, { method: 'DELETE' });
                        invitations.reload();
                      })
                    }
                  >
                    Revoke
                  </button>
                </li>
              ))}
            </ul>
          )}
        </section>
      )}
      {me.kind === 'user' && <Sessions />}
    </section>
  );
}
