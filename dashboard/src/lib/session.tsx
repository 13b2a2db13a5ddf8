/**
 * Who is signed in, from GET /v2/auth/me: a user (web login) with a role, or a principal (a
 * key-minted browser session). Its scopes decide which buttons a page shows; the server checks
 * them again on every call, so hiding a button is a courtesy, never the protection.
 */
import { createContext, useContext } from 'react';
import { ApiFailure, api } from './api';

export interface Organization {
  id: string;
  name: string;
  plan: string;
  limits?: { requests_per_minute: number; burst: number };
}

export interface Me {
  kind: 'user' | 'api_key' | 'session';
  email: string | null;
  name: string | null;
  role: string | null;
  scopes: ReadonlySet<string>;
  organization: Organization;
  /** until when key management needs no password again (user sessions) */
  reauthenticatedUntil: string | null;
}

interface MeBody {
  object: 'user' | 'principal';
  kind?: 'api_key' | 'session';
  email?: string;
  name?: string | null;
  role?: string;
  scopes: string[];
  organization: Organization;
  session?: { reauthenticated_until?: string | null };
}

export async function loadMe(): Promise<Me> {
  try {
    const body = await api<MeBody>('/v2/auth/me');
    return {
      kind: body.object === 'user' ? 'user' : (body.kind ?? 'session'),
      email: body.email ?? null,
      name: body.name ?? null,
      role: body.role ?? null,
      scopes: new Set(body.scopes),
      organization: body.organization,
      reauthenticatedUntil: body.session?.reauthenticated_until ?? null,
    };
  } catch (error) {
    // a server without /auth/me (before web login): the organization proves the session works
    if (!(error instanceof ApiFailure) || error.code !== 'route_not_found') throw error;
    const organization = await api<Organization>('/v2/organization');
    return {
      kind: 'session',
      email: null,
      name: null,
      role: null,
      scopes: new Set(['*']),
      organization,
      reauthenticatedUntil: null,
    };
  }
}

export const SessionContext = createContext<{ me: Me; refresh: () => void } | null>(null);

export function useSession() {
  const value = useContext(SessionContext);
  if (!value) throw new Error('useSession outside the signed-in app');
  return value;
}

/** Whether the signed-in caller holds `scope` (the server decides in the end). */
export function useCan() {
  const { me } = useSession();
  return (scope: string) => me.scopes.has('*') || me.scopes.has(scope);
}
