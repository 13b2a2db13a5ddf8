/**
 * Connectors: CRUD for an organization's private connectors (http, mcp), the built-in public ones
 * listed alongside, the access rule for keys without `connectors:private`, and `resolveTools`,
 * which turns an agent's `tools` into callable ToolDefinitions when a run starts.
 *
 * Access: a key without `connectors:private` (the demo key) sees only the built-ins. Reading a
 * private connector by id answers 404 (as if it did not exist, like the list), while creating,
 * changing or deleting one answers 403, as do an agent create/update or a run that would use one.
 *
 * URLs: refused when written (create, or an update that changes the URL) if the egress guard would
 * refuse them — a private, loopback, link-local or metadata address not on AIRMY_EGRESS_ALLOW, an
 * obfuscated IPv4 — the rules alert webhooks follow; and checked again at every call (DNS may
 * change). A host that does not resolve at write time is accepted: it is refused when called if it
 * still does not, and the network the server sees may not be there yet (the guard is not weakened:
 * every call resolves and checks again).
 *
 * Secrets: sealed with AES-256-GCM per value, bound (AAD) to the org, connector id and secret name;
 * opened only when a tool is resolved or called. Responses list secret names, never values.
 *
 * Listing: the organization's connectors newest first, then the built-ins as a fixed tail; cursors
 * work across the seam (a built-in's id is its name).
 */
import { type AuditRecorder, audited, givenFields } from '../audit/service.ts';
import type { Principal } from '../auth/principal.ts';
import { type Clock, iso } from '../clock.ts';
import { conflict, forbidden, notFound, unprocessable } from '../errors.ts';
import type { IdFactory } from '../ids.ts';
import type { SecretBox } from '../infra/crypto/secret-box.ts';
import type { PageParams } from '../infra/db/paginate.ts';
import type { ConnectorRow } from '../infra/db/schema.ts';
import { type Egress, EgressError } from '../infra/egress/egress.ts';
import type { InputValidator } from '../pipelines/input-schema.ts';
import { BUILTINS, type BuiltinInfo, createBuiltins, isBuiltin } from './builtins.ts';
import {
  defaultInputSchema,
  fill,
  type HttpConnectorConfig,
  httpTool,
  placeholders,
  urlTemplateProblem,
} from './kinds/http.ts';
import { mcpTools } from './kinds/mcp.ts';
import type { CreateConnectorBody, UpdateConnectorBody } from './schema.ts';
import type { ConnectorStore } from './store.ts';
import { type ToolDefinition, ToolError, type ToolResolver } from './tool.ts';

export interface ConnectorServiceDeps {
  store: ConnectorStore;
  ids: IdFactory;
  clock: Clock;
  egress: Egress;
  box: SecretBox;
  validator: InputValidator;
  /** audit log: each change and its entry commit together (secret names at most, never values) */
  audit?: AuditRecorder;
}

interface StoredConfig {
  url: string;
  method?: string;
  input_schema?: Record<string, unknown>;
  headers: Record<string, string>;
}

const SECRET_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const HEADER_NAME = /^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/;
const FORBIDDEN_HEADERS =
  /^(host|content-length|transfer-encoding|connection|upgrade|te|trailer|keep-alive|expect|proxy-.*)$/i;
const MAX_SCHEMA_CHARS = 32_768;
/** A name lookup at write time that takes longer is given up (the call checks again). */
const CHECK_TIMEOUT_MS = 5_000;

/**
 * Internal callers (a pipeline's step runs, a deployment's smoke test) pass a partial principal
 * without scopes: they act for a request that was already checked, so they are not refused here.
 */
export const canUsePrivate = (principal: Principal) =>
  principal.scopes === undefined || principal.scopes.has('connectors:private');

const privateForbidden = () =>
  forbidden(
    'private_connectors_forbidden',
    'This key has no access to private connectors (it lacks the connectors:private scope; demo keys never have it)',
  );

const secretAad = (row: Pick<ConnectorRow, 'org_id' | 'id'>, name: string) =>
  `connector:${row.org_id}:${row.id}:${name}`;

function isUniqueViolation(err: unknown): boolean {
  const e = err as { code?: unknown; message?: unknown };
  return (
    e?.code === '23505' || (typeof e?.message === 'string' && e.message.includes('UNIQUE constraint failed'))
  );
}

function toConnector(row: ConnectorRow) {
  const config = JSON.parse(row.config) as StoredConfig;
  return {
    id: row.id,
    object: 'connector' as const,
    name: row.name,
    kind: row.kind as 'http' | 'mcp',
    public: false,
    description: row.description,
    url: config.url,
    method: config.method ?? null,
    input_schema: config.input_schema ?? null,
    headers: config.headers,
    secrets: Object.keys(JSON.parse(row.secrets) as Record<string, string>).sort(),
    metadata: JSON.parse(row.metadata) as Record<string, string>,
    created_at: iso(row.created_at),
    updated_at: iso(row.updated_at),
  };
}

function toBuiltin(b: BuiltinInfo) {
  return {
    id: b.name,
    object: 'connector' as const,
    name: b.name,
    kind: 'builtin' as const,
    public: true,
    description: b.description,
    url: null,
    method: null,
    input_schema: b.inputSchema,
    headers: {},
    secrets: [] as string[],
    metadata: {},
    created_at: null,
    updated_at: null,
  };
}
export type ConnectorView = ReturnType<typeof toConnector> | ReturnType<typeof toBuiltin>;

interface Candidate {
  kind: 'http' | 'mcp';
  name: string;
  description: string | null;
  url: string;
  method: string | undefined;
  input_schema: Record<string, unknown> | undefined;
  headers: Record<string, string>;
  secretNames: Set<string>;
}

export function createConnectorService({
  store,
  ids,
  clock,
  egress,
  box,
  validator,
  audit,
}: ConnectorServiceDeps) {
  const builtin = createBuiltins({ egress, clock });

  /** Every semantic rule of a connector as it would be stored; throws the first 422. */
  function validate(c: Candidate): StoredConfig {
    if (isBuiltin(c.name)) {
      throw unprocessable('name_reserved', `"${c.name}" is the name of a built-in connector`, 'name');
    }
    for (const [name, value] of Object.entries(c.headers)) {
      const param = `headers.${name}`;
      if (!HEADER_NAME.test(name))
        throw unprocessable('invalid_header', `Invalid header name "${name}"`, param);
      if (FORBIDDEN_HEADERS.test(name)) {
        throw unprocessable('invalid_header', `The ${name} header is set by the server`, param);
      }
      if (/[\r\n\0]/.test(value))
        throw unprocessable('invalid_header', 'Header values may not contain line breaks', param);
      const refs = placeholders(value);
      if (refs.params.length > 0 || refs.invalid.length > 0) {
        throw unprocessable(
          'invalid_template',
          'Header values may only reference secrets, as {{secrets.NAME}}',
          param,
        );
      }
      const missing = refs.secrets.find((s) => !c.secretNames.has(s));
      if (missing) throw unprocessable('unknown_secret', `No secret named ${missing} is set`, param);
    }
    const refs = placeholders(c.url);
    if (c.kind === 'mcp') {
      if (c.method !== undefined)
        throw unprocessable('invalid_for_kind', 'mcp connectors have no method', 'method');
      if (c.input_schema !== undefined) {
        throw unprocessable(
          'invalid_for_kind',
          'mcp connectors take their tools from the server',
          'input_schema',
        );
      }
      if (refs.params.length + refs.secrets.length + refs.invalid.length > 0) {
        throw unprocessable('invalid_url', 'An mcp connector URL takes no placeholders', 'url');
      }
      const problem = urlTemplateProblem(c.url);
      if (problem) throw unprocessable('invalid_url', `url ${problem}`, 'url');
      return { url: c.url, headers: c.headers };
    }
    if (!c.description) {
      throw unprocessable(
        'parameter_missing',
        'An http connector needs a description: the model reads it',
        'description',
      );
    }
    if (refs.invalid.length > 0) {
      throw unprocessable(
        'invalid_template',
        `Unknown placeholder ${refs.invalid[0]}: use {{param}} or {{secrets.NAME}}`,
        'url',
      );
    }
    const problem = urlTemplateProblem(c.url);
    if (problem) throw unprocessable('invalid_url', `url ${problem}`, 'url');
    const missingSecret = refs.secrets.find((s) => !c.secretNames.has(s));
    if (missingSecret)
      throw unprocessable('unknown_secret', `No secret named ${missingSecret} is set`, 'url');
    const schema = c.input_schema ?? defaultInputSchema(c.url);
    if (JSON.stringify(schema).length > MAX_SCHEMA_CHARS) {
      throw unprocessable(
        'invalid_input_schema',
        `input_schema is larger than ${MAX_SCHEMA_CHARS} characters`,
        'input_schema',
      );
    }
    if (schema.type !== 'object') {
      throw unprocessable(
        'invalid_input_schema',
        'input_schema must describe an object ("type": "object")',
        'input_schema.type',
      );
    }
    const issue = validator.checkSchema(schema);
    if (issue) throw unprocessable(issue.code, issue.message, issue.param);
    const properties = (schema.properties ?? {}) as Record<string, unknown>;
    const undeclared = refs.params.find((p) => !Object.hasOwn(properties, p));
    if (undeclared) {
      throw unprocessable(
        'invalid_template',
        `The URL uses {{${undeclared}}} but input_schema.properties does not declare it`,
        'url',
      );
    }
    return { url: c.url, method: c.method ?? 'GET', input_schema: schema, headers: c.headers };
  }

  /** The egress guard's verdict on a URL template, when it is written (placeholders filled in). */
  async function checkEgress(template: string) {
    let timer: NodeJS.Timeout | undefined;
    const slow = new Promise<'slow'>((resolve) => {
      timer = setTimeout(() => resolve('slow'), CHECK_TIMEOUT_MS);
    });
    try {
      await Promise.race([egress.check(fill(template, () => 'x')), slow]);
    } catch (err) {
      if (!(err instanceof EgressError)) throw err;
      if (err.code === 'dns_failed') return;
      throw unprocessable(
        'invalid_url',
        `url may not be used: ${err.message} (an operator can allow a host with AIRMY_EGRESS_ALLOW)`,
        'url',
      );
    } finally {
      clearTimeout(timer);
    }
  }

  function checkSecretNames(secrets: Record<string, unknown> | undefined) {
    for (const name of Object.keys(secrets ?? {})) {
      if (!SECRET_NAME.test(name)) {
        throw unprocessable(
          'invalid_secret_name',
          `Secret names are letters, digits and _, not starting with a digit (got "${name}")`,
          `secrets.${name}`,
        );
      }
    }
  }

  async function checkNameFree(orgId: string, name: string, self?: string) {
    const other = await store.byName(orgId, name);
    if (other && other.id !== self) {
      throw unprocessable('name_taken', `A connector named "${name}" already exists`, 'name');
    }
  }

  async function mustGet(orgId: string, id: string) {
    const row = await store.get(orgId, id);
    if (!row) throw notFound('connector', id);
    return row;
  }

  function openSecrets(row: ConnectorRow): Record<string, string> {
    const sealed = JSON.parse(row.secrets) as Record<string, string>;
    try {
      return Object.fromEntries(
        Object.entries(sealed).map(([name, v]) => [name, box.open(v, secretAad(row, name))]),
      );
    } catch {
      throw new ToolError(
        'secret_unreadable',
        `The secrets of connector ${row.name} cannot be decrypted (was AIRMY_SECRET_KEY changed?)`,
      );
    }
  }

  function withSecrets(template: string, secrets: Record<string, string>) {
    return template.replace(
      /\{\{\s*secrets\.([A-Za-z_][A-Za-z0-9_]*)\s*\}\}/g,
      (_m, name: string) => secrets[name] ?? '',
    );
  }

  async function toolsOf(row: ConnectorRow): Promise<ToolDefinition[]> {
    const config = JSON.parse(row.config) as StoredConfig;
    if (row.kind === 'http') {
      return [
        httpTool(
          {
            name: row.name,
            description: row.description ?? row.name,
            config: config as HttpConnectorConfig,
            secrets: () => openSecrets(row),
          },
          { egress, validator },
        ),
      ];
    }
    const secrets = openSecrets(row);
    const headers = Object.fromEntries(
      Object.entries(config.headers).map(([k, v]) => [k, withSecrets(v, secrets)]),
    );
    return mcpTools({ url: config.url, headers }, egress);
  }

  const resolveTools: ToolResolver = async (orgId, names) => {
    const unique = [...new Set(names)];
    const rows = await store.getMany(
      orgId,
      unique.filter((n) => !isBuiltin(n)),
    );
    const byId = new Map(rows.map((r) => [r.id, r]));
    const tools: ToolDefinition[] = [];
    try {
      for (const name of unique) {
        if (isBuiltin(name)) {
          tools.push(builtin(name));
          continue;
        }
        const row = byId.get(name);
        if (!row) throw new ToolError('tool_unavailable', `No such connector: '${name}' (deleted?)`);
        tools.push(...(await toolsOf(row)));
      }
      const seen = new Set<string>();
      for (const t of tools) {
        if (seen.has(t.name)) {
          throw new ToolError('tool_unavailable', `Two of the agent's tools are named "${t.name}"`);
        }
        seen.add(t.name);
      }
      return tools;
    } catch (err) {
      await Promise.allSettled(
        [...new Set(tools.map((t) => t.close).filter((c) => c !== undefined))].map((c) => c()),
      );
      throw err;
    }
  };

  /** The built-ins that follow position `from` (exclusive) of the tail; `has_more` past `limit`. */
  const builtinSlice = (from: number, limit: number) => ({
    data: BUILTINS.slice(from, from + limit).map(toBuiltin),
    has_more: BUILTINS.length > from + limit,
  });
  const builtinIndex = (id: string | undefined) =>
    id === undefined ? -1 : BUILTINS.findIndex((b) => b.name === id);

  return {
    async list(
      principal: Principal,
      page: PageParams,
    ): Promise<{ data: ConnectorView[]; has_more: boolean }> {
      const own = canUsePrivate(principal);
      const after = builtinIndex(page.starting_after);
      const before = builtinIndex(page.ending_before);
      if (after >= 0) return builtinSlice(after + 1, page.limit);
      if (before >= 0) {
        const tail = BUILTINS.slice(0, before).map(toBuiltin);
        if (tail.length >= page.limit || !own) {
          return {
            data: tail.slice(-page.limit),
            has_more: tail.length > page.limit || (tail.length === page.limit && own),
          };
        }
        // the oldest rows come right before the built-ins
        const oldest = await store.list(principal.orgId, {
          limit: page.limit - tail.length,
          ending_before: '',
        });
        return { data: [...oldest.rows.map(toConnector), ...tail], has_more: oldest.has_more };
      }
      if (!own) {
        // a private connector id as a cursor means nothing to this key: the built-ins are the whole list
        return page.ending_before !== undefined ? { data: [], has_more: false } : builtinSlice(0, page.limit);
      }
      const { rows, has_more } = await store.list(principal.orgId, page);
      const data: ConnectorView[] = rows.map(toConnector);
      if (has_more || page.ending_before !== undefined) {
        return { data, has_more: has_more || page.ending_before === undefined };
      }
      const rest = builtinSlice(0, page.limit - data.length);
      return { data: [...data, ...rest.data], has_more: rest.has_more };
    },

    async get(principal: Principal, id: string): Promise<ConnectorView> {
      const b = BUILTINS.find((x) => x.name === id);
      if (b) return toBuiltin(b);
      if (!canUsePrivate(principal)) throw notFound('connector', id);
      return toConnector(await mustGet(principal.orgId, id));
    },

    async create(principal: Principal, body: CreateConnectorBody) {
      if (!canUsePrivate(principal)) throw privateForbidden();
      checkSecretNames(body.secrets);
      const config = validate({
        kind: body.kind,
        name: body.name,
        description: body.description ?? null,
        url: body.url,
        method: body.method,
        input_schema: body.input_schema,
        headers: body.headers ?? {},
        secretNames: new Set(Object.keys(body.secrets ?? {})),
      });
      await checkEgress(config.url);
      await checkNameFree(principal.orgId, body.name);
      const now = clock.now();
      const row: ConnectorRow = {
        id: ids('conn'),
        org_id: principal.orgId,
        name: body.name,
        kind: body.kind,
        description: body.description ?? null,
        config: JSON.stringify(config),
        secrets: '{}',
        metadata: JSON.stringify(body.metadata ?? {}),
        version: 1,
        created_at: now,
        updated_at: now,
        deleted_at: null,
      };
      row.secrets = JSON.stringify(
        Object.fromEntries(
          Object.entries(body.secrets ?? {}).map(([k, v]) => [k, box.seal(v, secretAad(row, k))]),
        ),
      );
      try {
        await audited(
          audit,
          (trx) => store.insert(row, trx),
          () => ({
            orgId: principal.orgId,
            action: 'connector.created',
            resource: { type: 'connector', id: row.id },
            changes: givenFields(body),
            statusCode: 201,
          }),
        );
      } catch (err) {
        if (isUniqueViolation(err)) {
          throw unprocessable('name_taken', `A connector named "${body.name}" already exists`, 'name');
        }
        throw err;
      }
      return toConnector(row);
    },

    async update(principal: Principal, id: string, body: UpdateConnectorBody) {
      if (!canUsePrivate(principal)) throw privateForbidden();
      if (isBuiltin(id)) throw forbidden('builtin_connector', 'Built-in connectors cannot be changed');
      checkSecretNames(body.secrets);
      const current = await mustGet(principal.orgId, id);
      const stored = JSON.parse(current.config) as StoredConfig;
      const sealed = JSON.parse(current.secrets) as Record<string, string>;
      for (const [k, v] of Object.entries(body.secrets ?? {})) {
        if (v === null) delete sealed[k];
        else sealed[k] = box.seal(v, secretAad(current, k));
      }
      const kind = current.kind as 'http' | 'mcp';
      const url = body.url ?? stored.url;
      const config = validate({
        kind,
        name: body.name ?? current.name,
        description: body.description !== undefined ? body.description : current.description,
        url,
        method: body.method ?? (kind === 'http' ? stored.method : undefined),
        // a new URL without a new schema gets the schema its placeholders imply only if the old one was implied
        input_schema:
          body.input_schema ??
          (kind === 'http' &&
          body.url !== undefined &&
          JSON.stringify(stored.input_schema) === JSON.stringify(defaultInputSchema(stored.url))
            ? undefined
            : stored.input_schema),
        headers: body.headers ?? stored.headers,
        secretNames: new Set(Object.keys(sealed)),
      });
      if (body.url !== undefined) await checkEgress(config.url);
      if (body.name !== undefined) await checkNameFree(principal.orgId, body.name, id);
      const next: ConnectorRow = {
        ...current,
        name: body.name ?? current.name,
        description: body.description !== undefined ? body.description : current.description,
        config: JSON.stringify(config),
        secrets: JSON.stringify(sealed),
        metadata: body.metadata !== undefined ? JSON.stringify(body.metadata) : current.metadata,
        version: current.version + 1,
        updated_at: clock.now(),
      };
      let applied: boolean;
      try {
        applied = await audited(
          audit,
          (trx) => store.update(next, current.version, trx),
          (ok) =>
            ok
              ? {
                  orgId: principal.orgId,
                  action: 'connector.updated',
                  resource: { type: 'connector', id },
                  changes: givenFields(body),
                }
              : null,
        );
      } catch (err) {
        if (isUniqueViolation(err)) {
          throw unprocessable('name_taken', `A connector named "${next.name}" already exists`, 'name');
        }
        throw err;
      }
      if (!applied)
        throw conflict('connector_modified', 'The connector changed while this update was applied; retry');
      return toConnector(next);
    },

    async remove(principal: Principal, id: string) {
      if (!canUsePrivate(principal)) throw privateForbidden();
      if (isBuiltin(id)) throw forbidden('builtin_connector', 'Built-in connectors cannot be deleted');
      const row = await mustGet(principal.orgId, id);
      await audited(
        audit,
        (trx) => store.softDelete(principal.orgId, id, clock.now(), trx),
        (ok) =>
          ok
            ? { orgId: principal.orgId, action: 'connector.deleted', resource: { type: 'connector', id } }
            : null,
      );
      return { id: row.id, object: 'connector' as const, deleted: true };
    },

    /**
     * An agent's `tools` as given at create/update: every entry a built-in name or a live connector
     * of the organization (else 422), and private ones only with `connectors:private` (else 403).
     */
    async checkAgentTools(orgId: string, tools: readonly string[], privateAccess: boolean) {
      const ids = [...new Set(tools.filter((t) => !isBuiltin(t)))];
      if (ids.length === 0) return;
      const found = new Set((await store.getMany(orgId, ids)).map((r) => r.id));
      const index = tools.findIndex((t) => !isBuiltin(t) && !found.has(t));
      if (index >= 0) {
        throw unprocessable(
          'unknown_tool',
          `No such tool: '${tools[index]}' (use a built-in name: ${BUILTINS.map((b) => b.name).join(', ')}, or a connector id)`,
          `tools[${index}]`,
        );
      }
      if (!privateAccess) throw privateForbidden();
    },

    /** A run may use private connectors only if the key may (no lookup: deleted ones fail at start). */
    checkRunTools(principal: Principal, tools: readonly string[]) {
      if (!canUsePrivate(principal) && tools.some((t) => !isBuiltin(t))) throw privateForbidden();
    },

    resolveTools,
  };
}
export type ConnectorService = ReturnType<typeof createConnectorService>;
