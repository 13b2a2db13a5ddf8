import { type AuditRecorder, audited, changedFields, givenFields } from '../audit/service.ts';
import { type Clock, iso } from '../clock.ts';
import type { SandboxConfig } from '../config.ts';
import type { ModelRegistry } from '../engine/providers/index.ts';
import { ModelError } from '../engine/providers/index.ts';
import { type CodeLimits, overMaximum } from '../engine/sandbox/limits.ts';
import type { CodeError } from '../engine/sandbox/protocol.ts';
import { conflict, notFound, unprocessable } from '../errors.ts';
import type { IdFactory } from '../ids.ts';
import type { Bus } from '../infra/bus/bus.ts';
import { createReadCache } from '../infra/cache/read-cache.ts';
import type { PageParams } from '../infra/db/paginate.ts';
import type { AgentRow } from '../infra/db/schema.ts';
import { presentWebhook, type WebhookInput } from '../webhooks/target.ts';
import type { CreateAgentBody, UpdateAgentBody } from './schema.ts';
import type { AgentStore } from './store.ts';

export interface AgentServiceDeps {
  store: AgentStore;
  ids: IdFactory;
  clock: Clock;
  models: ModelRegistry;
  /** `tools`: unknown names → 422, private connectors without access → 403 (the connectors service) */
  checkTools?: (orgId: string, tools: readonly string[], privateAccess: boolean) => Promise<void>;
  /** `guardrails`: a template, policy id or policy name, else 422 (the guardrails service) */
  checkGuardrails?: (orgId: string, ref: string | null) => Promise<void>;
  /** audit log: each change and its entry commit together */
  audit?: AuditRecorder;
  /** checks and seals a completion webhook for the agent (src/webhooks/target.ts) */
  sealWebhook?: (input: WebhookInput | null, agentId: string) => Promise<string | null>;
  /** cluster mode: invalidations of the runtime cache reach every process (infra/cache/read-cache.ts) */
  bus?: Bus;
  /** compiles a code agent's module in the sandbox: null, or its syntax error (src/engine/sandbox/) */
  compileCode?: (code: string) => Promise<CodeError | null>;
  /** the server's sandbox maxima, which `code_limits` must stay within */
  sandbox?: SandboxConfig;
}

/** What the caller may put in `tools`: private connectors need the connectors:private scope. */
export interface ToolAccess {
  privateConnectors: boolean;
}

export function toAgent(row: AgentRow) {
  return {
    id: row.id,
    object: 'agent' as const,
    name: row.name,
    description: row.description,
    model: row.model === '' ? null : row.model,
    code: row.code ?? null,
    code_limits: row.code_limits ? (JSON.parse(row.code_limits) as CodeLimits) : null,
    instructions: row.instructions,
    parameters: JSON.parse(row.parameters) as Record<string, unknown>,
    tools: JSON.parse(row.tools) as string[],
    guardrails: row.guardrails,
    metadata: JSON.parse(row.metadata) as Record<string, string>,
    smoke_test:
      row.smoke_test === null
        ? null
        : (JSON.parse(row.smoke_test) as { input: Record<string, unknown>; expect?: string }),
    webhook: presentWebhook(row.webhook),
    version: row.version,
    created_at: iso(row.created_at)!,
    updated_at: iso(row.updated_at)!,
  };
}
export type Agent = ReturnType<typeof toAgent>;

/** The fields a PATCH can change, as audit `changes` names them. */
const AGENT_FIELDS = [
  'name',
  'description',
  'model',
  'code',
  'code_limits',
  'instructions',
  'parameters',
  'tools',
  'guardrails',
  'metadata',
  'smoke_test',
  'webhook',
] as const satisfies readonly (keyof AgentRow)[];

export function createAgentService({
  store,
  ids,
  clock,
  models,
  checkTools,
  checkGuardrails,
  audit,
  sealWebhook,
  bus,
  compileCode,
  sandbox,
}: AgentServiceDeps) {
  /** A module that does not compile is a 422 naming `code`, with the line and column. */
  async function checkCode(code: string | null | undefined, limits: CodeLimits | null | undefined) {
    if (limits && sandbox) {
      const over = overMaximum(limits, sandbox);
      if (over)
        throw unprocessable(
          'code_limit_too_high',
          `code_limits.${over[0]} may be at most ${over[1]} on this server`,
          `code_limits.${over[0]}`,
        );
    }
    if (typeof code !== 'string' || !compileCode) return;
    const error = await compileCode(code);
    if (!error) return;
    const at =
      error.line !== null
        ? ` (line ${error.line}${error.column !== null ? `, column ${error.column}` : ''})`
        : '';
    throw unprocessable('invalid_code', `The agent's code does not compile: ${error.message}${at}`, 'code');
  }
  function needModel(model: string | undefined, code: string | null | undefined) {
    if (!model && !code)
      throw unprocessable(
        'parameter_missing',
        'model is required (only a code agent may go without one)',
        'model',
      );
  }
  function checkModel(model: string) {
    try {
      models.validate(model);
    } catch (err) {
      if (err instanceof ModelError) throw unprocessable('unknown_model', err.message, 'model');
      throw err;
    }
  }
  async function mustGet(orgId: string, id: string) {
    const row = await store.get(orgId, id);
    if (!row) throw notFound('agent', id);
    return row;
  }
  // Every run reads its agent: served from memory, invalidated after each committed change.
  const runtime = createReadCache<AgentRow>({
    ttlMs: 1_000,
    max: 10_000,
    now: () => clock.now(),
    shared: bus && { bus, topic: 'cache:agents' },
  });
  return {
    async create(orgId: string, body: CreateAgentBody, id?: string, access?: ToolAccess) {
      needModel(body.model, body.code);
      if (body.model !== undefined) checkModel(body.model);
      await checkCode(body.code, body.code_limits);
      if (body.tools?.length) await checkTools?.(orgId, body.tools, access?.privateConnectors ?? true);
      if (body.guardrails) await checkGuardrails?.(orgId, body.guardrails);
      const agentId = id ?? ids('ag');
      const webhook = body.webhook && sealWebhook ? await sealWebhook(body.webhook, agentId) : null;
      const now = clock.now();
      const row: AgentRow = {
        id: agentId,
        org_id: orgId,
        name: body.name,
        description: body.description ?? null,
        model: body.model ?? '',
        code: body.code ?? null,
        code_limits: body.code_limits ? JSON.stringify(body.code_limits) : null,
        instructions: body.instructions ?? null,
        parameters: JSON.stringify(body.parameters ?? {}),
        tools: JSON.stringify(body.tools ?? []),
        guardrails: body.guardrails ?? null,
        metadata: JSON.stringify(body.metadata ?? {}),
        smoke_test: body.smoke_test ? JSON.stringify(body.smoke_test) : null,
        webhook,
        version: 1,
        created_at: now,
        updated_at: now,
        deleted_at: null,
      };
      await audited(
        audit,
        (trx) => store.insert(row, trx),
        () => ({
          orgId,
          action: 'agent.created',
          resource: { type: 'agent', id: row.id },
          changes: givenFields(body),
          statusCode: 201,
        }),
      );
      return toAgent(row);
    },
    async get(orgId: string, id: string) {
      return toAgent(await mustGet(orgId, id));
    },
    /** The stored row, for the run engine (which snapshots it). */
    row: (orgId: string, id: string) => runtime.get(`${orgId}/${id}`, () => mustGet(orgId, id)),
    async list(orgId: string, page: PageParams) {
      const { rows, has_more } = await store.list(orgId, page);
      return { data: rows.map(toAgent), has_more };
    },
    async update(orgId: string, id: string, body: UpdateAgentBody, access?: ToolAccess) {
      if (body.model !== undefined) checkModel(body.model);
      await checkCode(body.code, body.code_limits);
      if (body.tools?.length) await checkTools?.(orgId, body.tools, access?.privateConnectors ?? true);
      if (body.guardrails) await checkGuardrails?.(orgId, body.guardrails);
      const current = await mustGet(orgId, id);
      needModel(body.model ?? current.model, body.code === undefined ? current.code : body.code);
      const webhook =
        body.webhook === undefined
          ? undefined
          : body.webhook && sealWebhook
            ? await sealWebhook(body.webhook, id)
            : null;
      const next: AgentRow = {
        ...current,
        ...(body.name !== undefined && { name: body.name }),
        ...(body.description !== undefined && { description: body.description }),
        ...(body.model !== undefined && { model: body.model }),
        ...(body.code !== undefined && { code: body.code }),
        ...(body.code_limits !== undefined && {
          code_limits: body.code_limits === null ? null : JSON.stringify(body.code_limits),
        }),
        ...(body.instructions !== undefined && { instructions: body.instructions }),
        ...(body.parameters !== undefined && { parameters: JSON.stringify(body.parameters) }),
        ...(body.tools !== undefined && { tools: JSON.stringify(body.tools) }),
        ...(body.guardrails !== undefined && { guardrails: body.guardrails }),
        ...(body.metadata !== undefined && { metadata: JSON.stringify(body.metadata) }),
        ...(body.smoke_test !== undefined && {
          smoke_test: body.smoke_test === null ? null : JSON.stringify(body.smoke_test),
        }),
        ...(webhook !== undefined && { webhook }),
        version: current.version + 1,
        updated_at: clock.now(),
      };
      await audited(
        audit,
        async (trx) => {
          if (!(await store.update(next, current.version, trx))) {
            throw conflict('agent_modified', 'The agent changed while this update was applied; retry');
          }
        },
        () => ({
          orgId,
          action: 'agent.updated',
          resource: { type: 'agent', id },
          changes: changedFields(current, next, AGENT_FIELDS),
        }),
      );
      runtime.invalidate(`${orgId}/${id}`);
      return toAgent(next);
    },
    async remove(orgId: string, id: string) {
      const row = await mustGet(orgId, id);
      const at = clock.now();
      await audited(
        audit,
        (trx) => store.softDelete(orgId, id, at, trx),
        (deleted) => (deleted ? { orgId, action: 'agent.deleted', resource: { type: 'agent', id } } : null),
      );
      runtime.invalidate(`${orgId}/${id}`);
      return { id: row.id, object: 'agent' as const, deleted: true };
    },
  };
}
export type AgentService = ReturnType<typeof createAgentService>;
