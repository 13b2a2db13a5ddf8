import Type from 'typebox';
import { documentedAs } from '../http/openapi-doc.ts';

/** Scopes are `<resource>:<verb>`. A key created without --scopes gets every scope. */
export const Scopes = [
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
  'keys:admin',
  'members:read',
  'members:write',
] as const;
export type Scope = (typeof Scopes)[number];

export const isScope = (s: string): s is Scope => (Scopes as readonly string[]).includes(s);

/** Scopes a session token can never carry: tokens are for front-ends, not for managing keys. */
export const TOKEN_FORBIDDEN_SCOPES: readonly Scope[] = ['keys:admin'];

/** The demo key is for prototyping: everything but key management and private connectors. */
export const DEMO_SCOPES: readonly Scope[] = Scopes.filter(
  (s) => s !== 'keys:admin' && s !== 'connectors:private',
);

/**
 * A request's list of scopes: validated by the services (422 `invalid_scope` naming the scope),
 * documented as the enum of `allowed`.
 */
export const scopeListSchema = (allowed: readonly Scope[], description: string) =>
  documentedAs(Type.Array(Type.String({ maxLength: 64 }), { maxItems: 50, description }), {
    type: 'array',
    maxItems: 50,
    description,
    items: { type: 'string', enum: [...allowed] },
  });
