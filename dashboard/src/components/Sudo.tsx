/**
 * Sudo mode: managing API keys from a web login needs the password entered within the last 10
 * minutes. An action answered `403 reauthentication_required` asks for the password
 * (POST /v2/auth/reauthenticate) and then runs again.
 */
import { type FormEvent, useCallback, useState } from 'react';
import { ApiFailure, api } from '../lib/api';
import { ErrorBox, useAction } from '../lib/ui';

export function useSudo() {
  const [pending, setPending] = useState<(() => Promise<void>) | null>(null);
  const confirm = useAction();

  /** Runs `action`; if the server wants the password first, asks for it and runs it again. */
  const guard = useCallback(async (action: () => Promise<void>) => {
    try {
      await action();
    } catch (error) {
      if (error instanceof ApiFailure && error.code === 'reauthentication_required') {
        setPending(() => action);
        return;
      }
      throw error;
    }
  }, []);

  const submit = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const password = String(new FormData(event.currentTarget).get('password') ?? '');
    void confirm.run(async () => {
      await api('/v2/auth/reauthenticate', { method: 'POST', body: { password }, expectUnauthorized: true });
      const action = pending;
      setPending(null);
      await action?.();
    });
  };

  const prompt = pending ? (
    <form className="card sudo" onSubmit={submit} aria-label="Confirm your password">
      <h2>Confirm your password</h2>
      <p className="muted">Managing API keys needs your password again (valid for 10 minutes).</p>
      <label>
        Password
        <input name="password" type="password" autoComplete="current-password" required />
      </label>
      <ErrorBox error={confirm.error} />
      <div className="form-actions">
        <button type="submit" className="primary" disabled={confirm.busy}>
          {confirm.busy ? 'Checking…' : 'Confirm'}
        </button>
        <button type="button" onClick={() => setPending(null)}>
          Cancel
        </button>
      </div>
    </form>
  ) : null;

  return { guard, prompt };
}
