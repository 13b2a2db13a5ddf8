/**
 * A user's role is a fixed set of the API's scopes: a web session carries exactly its user's role's
 * scopes, read from the user's row on every request (a role change applies at once).
 * - viewer: every read, nothing else;
 * - developer: the reads, plus writing agents, runs, deployments and pipelines; no keys, no members;
 * - admin: every scope (keys, members, connectors' private mode, alerts, guardrails);
 * - owner: the same scopes as admin, plus what is checked by role rather than scope: only an owner
 *   makes, demotes or removes an owner (and deleting the organization, which has no route yet).
 */
import { type Scope, Scopes } from '../auth/scopes.ts';

export const Roles = ['owner', 'admin', 'developer', 'viewer'] as const;
export type Role = (typeof Roles)[number];
export const isRole = (s: string): s is Role => (Roles as readonly string[]).includes(s);

const READS: readonly Scope[] = Scopes.filter((s) => s.endsWith(':read'));
const DEVELOPER_WRITES: readonly Scope[] = [
  'agents:write',
  'runs:write',
  'deployments:write',
  'pipelines:write',
];

export const ROLE_SCOPES: Readonly<Record<Role, readonly Scope[]>> = Object.freeze({
  owner: Scopes,
  admin: Scopes,
  developer: [...READS, ...DEVELOPER_WRITES],
  viewer: READS,
});

const scopeSets = new Map<Role, ReadonlySet<Scope>>(Roles.map((r) => [r, new Set(ROLE_SCOPES[r])]));
/** The role's scopes as a set, shared by every principal of that role. */
export const scopesOf = (role: Role): ReadonlySet<Scope> => scopeSets.get(role)!;
