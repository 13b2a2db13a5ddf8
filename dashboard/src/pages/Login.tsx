/**
 * Email and password (POST /v2/auth/login), or an API key (POST /v2/auth/session with the key as
 * Bearer, once: the server answers with the HttpOnly cookie and the key is forgotten). Either way
 * the browser holds only the cookie, which page scripts cannot read.
 */
import { type FormEvent, useState } from 'react';
import { api } from '../lib/api';
import { ErrorBox, useAction } from '../lib/ui';

export function Login({ onSignedIn, expired }: { onSignedIn: () => Promise<void>; expired: boolean }) {
  const [mode, setMode] = useState<'password' | 'key'>('password');
  const { busy, error, run } = useAction();

  const submit = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    void run(async () => {
      if (mode === 'password') {
        await api('/v2/auth/login', {
          method: 'POST',
          body: { email: String(form.get('email')), password: String(form.get('password')) },
          expectUnauthorized: true,
        });
      } else {
        await api('/v2/auth/session', {
          method: 'POST',
          headers: { authorization: `Bearer ${String(form.get('key')).trim()}` },
          expectUnauthorized: true,
        });
      }
      await onSignedIn();
    });
  };

  return (
    <main className="login">
      <form className="card login-card" onSubmit={submit} aria-labelledby="login-title">
        <h1 id="login-title">Sign in to AIRMY</h1>
        {expired && !error && <p className="notice">Your session ended. Sign in to continue.</p>}
        {mode === 'password' ? (
          <>
            <label>
              Email
              <input name="email" type="email" autoComplete="username" required />
            </label>
            <label>
              Password
              <input name="password" type="password" autoComplete="current-password" required />
            </label>
          </>
        ) : (
          <label>
            API key
            <input name="key" type="password" autoComplete="off" required placeholder="sk-…" />
            <span className="hint">Used once to start a browser session; it is not stored.</span>
          </label>
        )}
        <ErrorBox error={error} />
        <button type="submit" className="primary" disabled={busy}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
        <button
          type="button"
          className="link-button"
          onClick={() => setMode(mode === 'password' ? 'key' : 'password')}
        >
          {mode === 'password' ? 'Sign in with an API key instead' : 'Sign in with email and password'}
        </button>
      </form>
    </main>
  );
}

/** The link an invitation's token makes: choose a name and a password, and you are signed in. */
export function AcceptInvitation({ token, onSignedIn }: { token: string; onSignedIn: () => Promise<void> }) {
  const { busy, error, run } = useAction();
  const submit = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    void run(async () => {
      await api('/v2/auth/accept-invitation', {
        method: 'POST',
        body: { token, name: String(form.get('name') ?? ''), password: String(form.get('password') ?? '') },
        expectUnauthorized: true,
      });
      await onSignedIn();
    });
  };
  return (
    <main className="login">
      <form className="card login-card" onSubmit={submit} aria-labelledby="accept-title">
        <h1 id="accept-title">Join AIRMY</h1>
        <label>
          Your name
          <input name="name" autoComplete="name" required />
        </label>
        <label>
          Password
          <input name="password" type="password" autoComplete="new-password" minLength={12} required />
          <span className="hint">At least 12 characters.</span>
        </label>
        <ErrorBox error={error} />
        <button type="submit" className="primary" disabled={busy || !token}>
          {busy ? 'Joining…' : 'Accept the invitation'}
        </button>
      </form>
    </main>
  );
}
