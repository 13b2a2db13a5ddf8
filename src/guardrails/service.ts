/**
 * Guardrail policies (per organization, CRUD) and the glue between the pure core and runs.
 *
 * What an agent's `guardrails` may name, resolved in this order:
 *   1. a built-in template (`none`, `baseline`, `pii-redact`, `pii-block`, `strict`);
 *   2. a custom policy's id (`gp_…`) — stable across renames;
 *   3. a custom policy's name — follows renames (a policy may not be named like a template or `gp_…`).
 * Unknown → 422 `unknown_guardrail_policy` (agent create/update, deploy, and at run time when the
 * policy was deleted since: a run never silently goes unguarded).
 *
 * Runs: the input check happens when a run is accepted (`guardInput`). The policy in force at that
 * moment is frozen into the run's config as a snapshot: a template by name, a custom policy as its
 * id, version and effective rules. The executor compiles the snapshot for the output check
 * (`compiled`); compiled policies are cached by template name / `id@version` in a bounded LRU map,
 * so each version compiles once per process and an update never changes an accepted run's policy.
 */
import { type AuditRecorder, audited, givenFields } from '../audit/service.ts';
import { type Clock, iso } from '../clock.ts';
import { conflict, notFound, unprocessable } from '../errors.ts';
import type { IdFactory } from '../ids.ts';
import type { Bus } from '../infra/bus/bus.ts';
import { createReadCache } from '../infra/cache/read-cache.ts';
import type { PageParams } from '../infra/db/paginate.ts';
import type { GuardrailPolicyRow } from '../infra/db/schema.ts';
import { type CompiledPolicy, compilePolicy } from './compile.ts';
import type { CreateGuardrailPolicyBody, UpdateGuardrailPolicyBody } from './schema.ts';
import type { GuardrailPolicyStore } from './store.ts';
import { builtinTemplates, resolvePolicy } from './templates.ts';
import type { Hit, PolicyRule } from './types.ts';
import { validatePolicyRules } from './validate.ts';

/** Frozen into a run's config when it is accepted: which policy (and version) checks it. */
export interface GuardrailSnapshot {
  /** a template name, or a custom policy's id */
  policy: string;
  /** custom policies only */
  version?: number;
  /** custom policies only: the effective rules (template merged) of that version */
  rules?: PolicyRule[];
}

export interface GuardedInput {
  snapshot: GuardrailSnapshot;
  /** the input as the model and the stored run see it (JSON text), redactions applied */
  input: string;
  /** JSON text of the hits, or null when none */
  hits: string | null;
}

export interface GuardrailServiceDeps {
  store: GuardrailPolicyStore;
  ids: IdFactory;
  clock: Clock;
  /** compiled policies kept per process (default 500) */
  cacheSize?: number;
  /** audit log: each change and its entry commit together */
  audit?: AuditRecorder;
  /** cluster mode: invalidations of the policy cache reach every process (infra/cache/read-cache.ts) */
  bus?: Bus;
}

const ID_PREFIX = 'gp_';

function isUniqueViolation(err: unknown): boolean {
  const e = err as { code?: unknown; message?: unknown };
  return (
    e?.code === '23505' || (typeof e?.message === 'string' && e.message.includes('UNIQUE constraint failed'))
  );
}

function effectiveRules(extendsName: string | null, rules: unknown): PolicyRule[] {
  const resolved = resolvePolicy({ extends: extendsName, rules });
  if (!resolved.ok)
    throw unprocessable('invalid_guardrail_policy', `${resolved.param} ${resolved.message}`, resolved.param);
  return resolved.rules;
}

export function toGuardrailPolicy(row: GuardrailPolicyRow) {
  const rules = JSON.parse(row.rules) as PolicyRule[];
  return {
    id: row.id,
    object: 'guardrail_policy' as const,
    name: row.name,
    description: row.description,
    extends: row.extends,
    rules,
    effective_rules: resolveStored(row),
    metadata: JSON.parse(row.metadata) as Record<string, string>,
    version: row.version,
    created_at: iso(row.created_at)!,
    updated_at: iso(row.updated_at)!,
  };
}

/** A stored policy's effective rules (validated when written; a template change could break it). */
function resolveStored(row: GuardrailPolicyRow): PolicyRule[] {
  const resolved = resolvePolicy({ extends: row.extends, rules: JSON.parse(row.rules) });
  if (!resolved.ok) {
    throw unprocessable(
      'invalid_guardrail_policy',
      `Guardrail policy '${row.name}' is no longer valid (${resolved.param} ${resolved.message}); update it`,
      'guardrails',
    );
  }
  return resolved.rules;
}

/** Sums hits by rule and action (a rule applied to input and output counts once per match). */
export function mergeHits(a: readonly Hit[], b: readonly Hit[]): Hit[] {
  const out = a.map((h) => ({ ...h }));
  for (const h of b) {
    const same = out.find((o) => o.rule === h.rule && o.action === h.action);
    if (same) same.count += h.count;
    else out.push({ ...h });
  }
  return out;
}

export function createGuardrailService({
  store,
  ids,
  clock,
  cacheSize = 500,
  audit,
  bus,
}: GuardrailServiceDeps) {
  // Every run of an agent with a custom policy reads it: served from memory, invalidated on change.
  const rows = createReadCache<GuardrailPolicyRow | null>({
    shared: bus && { bus, topic: 'cache:guardrail-policies' },
    ttlMs: 1_000,
    max: 10_000,
    now: () => clock.now(),
  });
  // key: template name, or `id@version` of a custom policy; Map order = least recently used first
  const compiledCache = new Map<string, { policy: CompiledPolicy; rules?: PolicyRule[] }>();
  const cacheKey = (s: GuardrailSnapshot) => (s.rules ? `${s.policy}@${s.version}` : s.policy);

  function compiled(snapshot: GuardrailSnapshot | null | undefined): CompiledPolicy | null {
    if (!snapshot) return null;
    const key = cacheKey(snapshot);
    const hit = compiledCache.get(key);
    if (hit) {
      compiledCache.delete(key);
      compiledCache.set(key, hit);
      return hit.policy;
    }
    const rules = snapshot.rules ?? builtinTemplates[snapshot.policy]?.rules;
    if (!rules) return null;
    const policy = compilePolicy(rules);
    if (compiledCache.size >= cacheSize) compiledCache.delete(compiledCache.keys().next().value!);
    compiledCache.set(key, { policy, rules: snapshot.rules });
    return policy;
  }

  async function lookup(orgId: string, ref: string): Promise<GuardrailPolicyRow | null> {
    return rows.get(
      `${orgId}/${ref}`,
      async () =>
        (ref.startsWith(ID_PREFIX) ? await store.get(orgId, ref) : await store.byName(orgId, ref)) ?? null,
    );
  }

  /** What `ref` names now, as a snapshot; null for no guardrails; 422 when it names nothing. */
  async function snapshot(
    orgId: string,
    ref: string | null,
    param: string,
  ): Promise<GuardrailSnapshot | null> {
    if (ref === null) return null;
    if (Object.hasOwn(builtinTemplates, ref)) return ref === 'none' ? null : { policy: ref };
    const row = await lookup(orgId, ref);
    if (!row) {
      throw unprocessable(
        'unknown_guardrail_policy',
        `No guardrail template or policy named '${ref}' (templates: ${Object.keys(builtinTemplates).join(', ')})`,
        param,
      );
    }
    // a version's effective rules are resolved once: then they come with its compiled policy
    const cachedRules = compiledCache.get(`${row.id}@${row.version}`)?.rules;
    return { policy: row.id, version: row.version, rules: cachedRules ?? resolveStored(row) };
  }

  async function mustGet(orgId: string, id: string) {
    const row = await store.get(orgId, id);
    if (!row) throw notFound('guardrail policy', id);
    return row;
  }

  function checkName(name: string) {
    if (Object.hasOwn(builtinTemplates, name) || name.startsWith(ID_PREFIX)) {
      throw unprocessable(
        'name_reserved',
        `"${name}" is reserved (template names and the gp_ id prefix cannot name a policy)`,
        'name',
      );
    }
  }

  const ownRules = (rules: unknown) => {
    const own = validatePolicyRules(rules);
    if (!own.ok) throw unprocessable('invalid_guardrail_policy', `${own.param} ${own.message}`, own.param);
    return own.rules;
  };

  return {
    templates() {
      return Object.values(builtinTemplates).map((t) => ({
        object: 'guardrail_template' as const,
        name: t.name,
        description: t.description,
        rules: t.rules as unknown as Record<string, unknown>[],
      }));
    },

    async create(orgId: string, body: CreateGuardrailPolicyBody) {
      checkName(body.name);
      const extendsName = body.extends ?? null;
      effectiveRules(extendsName, body.rules ?? []);
      const now = clock.now();
      const row: GuardrailPolicyRow = {
        id: ids('gp'),
        org_id: orgId,
        name: body.name,
        description: body.description ?? null,
        extends: extendsName,
        rules: JSON.stringify(ownRules(body.rules ?? [])),
        metadata: JSON.stringify(body.metadata ?? {}),
        version: 1,
        created_at: now,
        updated_at: now,
        deleted_at: null,
      };
      try {
        await audited(
          audit,
          (trx) => store.insert(row, trx),
          () => ({
            orgId,
            action: 'guardrail_policy.created',
            resource: { type: 'guardrail_policy', id: row.id },
            changes: givenFields(body),
            statusCode: 201,
          }),
        );
      } catch (err) {
        if (isUniqueViolation(err)) {
          throw unprocessable('name_taken', `A guardrail policy named "${body.name}" already exists`, 'name');
        }
        throw err;
      }
      rows.invalidate();
      return toGuardrailPolicy(row);
    },
    async get(orgId: string, id: string) {
      return toGuardrailPolicy(await mustGet(orgId, id));
    },
    async list(orgId: string, page: PageParams) {
      const { rows: found, has_more } = await store.list(orgId, page);
      return { data: found.map(toGuardrailPolicy), has_more };
    },
    /** Any change makes a new version; runs accepted before keep the version they were accepted with. */
    async update(orgId: string, id: string, body: UpdateGuardrailPolicyBody) {
      if (body.name !== undefined) checkName(body.name);
      const current = await mustGet(orgId, id);
      const extendsName = body.extends !== undefined ? body.extends : current.extends;
      const rules = body.rules !== undefined ? body.rules : JSON.parse(current.rules);
      effectiveRules(extendsName, rules);
      const next: GuardrailPolicyRow = {
        ...current,
        ...(body.name !== undefined && { name: body.name }),
        ...(body.description !== undefined && { description: body.description }),
        ...(body.metadata !== undefined && { metadata: JSON.stringify(body.metadata) }),
        extends: extendsName,
        rules: JSON.stringify(ownRules(rules)),
        version: current.version + 1,
        updated_at: clock.now(),
      };
      let ok: boolean;
      try {
        ok = await audited(
          audit,
          (trx) => store.update(next, current.version, trx),
          (applied) =>
            applied
              ? {
                  orgId,
                  action: 'guardrail_policy.updated',
                  resource: { type: 'guardrail_policy', id },
                  changes: givenFields(body),
                }
              : null,
        );
      } catch (err) {
        if (isUniqueViolation(err)) {
          throw unprocessable('name_taken', `A guardrail policy named "${next.name}" already exists`, 'name');
        }
        throw err;
      }
      if (!ok)
        throw conflict(
          'guardrail_policy_modified',
          'The policy changed while this update was applied; retry',
        );
      rows.invalidate();
      return toGuardrailPolicy(next);
    },
    /** Agents that still name it fail their runs with 422 unknown_guardrail_policy (never unguarded). */
    async remove(orgId: string, id: string) {
      const row = await mustGet(orgId, id);
      await audited(
        audit,
        (trx) => store.softDelete(orgId, id, clock.now(), trx),
        (ok) =>
          ok
            ? { orgId, action: 'guardrail_policy.deleted', resource: { type: 'guardrail_policy', id } }
            : null,
      );
      rows.invalidate();
      return { id: row.id, object: 'guardrail_policy' as const, deleted: true };
    },

    /** For agents and deployments: 422 `unknown_guardrail_policy` (param `guardrails`) unless it resolves. */
    async check(orgId: string, ref: string | null, param = 'guardrails') {
      await snapshot(orgId, ref, param);
    },

    /**
     * The request-path input check: 422 `guardrail_violation` naming the rule when a rule blocks;
     * else the (redacted) input, its hits and the snapshot the run keeps. Null: no guardrails.
     */
    async guardInput(orgId: string, ref: string | null, input: unknown): Promise<GuardedInput | null> {
      const snap = await snapshot(orgId, ref, 'agent_id');
      const policy = compiled(snap);
      if (!snap || !policy) return null;
      const result = policy.checkValue(input, 'input');
      if (result.blocked) {
        throw unprocessable(
          'guardrail_violation',
          `The input was blocked by guardrail rule '${result.blocked.rule}': ${result.blocked.message}`,
          'input',
        );
      }
      return {
        snapshot: snap,
        input: JSON.stringify(result.value),
        hits: result.hits.length ? JSON.stringify(result.hits) : null,
      };
    },

    /** The compiled policy of a run's snapshot (cached per template / policy version). */
    compiled,
  };
}
export type GuardrailService = ReturnType<typeof createGuardrailService>;
