/**
 * Deployments: immutable, numbered snapshots of an agent's configuration, promoted per environment.
 *
 *   pending ──job──▶ validating ──all steps pass──▶ active ──newer one activates──▶ superseded
 *                        │                            └──rollback──▶ rolled_back
 *                        └──a step fails──▶ failed       (the active deployment is untouched)
 *
 * Validation runs as a durable 'deployment' job, so POST answers 202 at once and a crash mid-way is
 * recovered (the job runs again and repeats the steps). The smoke test is a real run; the job does
 * not wait for it while holding a worker slot (with one worker that would deadlock): it starts the
 * run, records it on the deployment, and re-schedules itself; the run's end wakes the job early.
 *
 * "Exactly one active per (agent, environment)" is the partial unique index `deployments_one_active`;
 * activation and rollback are conditional updates in one transaction that holds the agent's lock,
 * so concurrent activations take turns. Of several concurrent deploys the highest version wins: a
 * deployment that finishes validating after a newer one went active is superseded, never active.
 *
 * Every step, status change and served run is a log line with a per-deployment sequence number,
 * streamed as `deployment.log` / `deployment.status` events.
 */
import type { AgentService } from '../agents/service.ts';
import type { AlertNotifier } from '../alerts/notify.ts';
import type { AuditRecorder } from '../audit/service.ts';
import type { Principal } from '../auth/principal.ts';
import { type Clock, iso } from '../clock.ts';
import type { ModelRegistry } from '../engine/providers/index.ts';
import type { CodeError } from '../engine/sandbox/protocol.ts';
import { conflict, isNotFound, notFound, unprocessable } from '../errors.ts';
import { builtinTemplates } from '../guardrails/templates.ts';
import type { IdFactory } from '../ids.ts';
import type { Bus } from '../infra/bus/bus.ts';
import { createReadCache } from '../infra/cache/read-cache.ts';
import type { Db } from '../infra/db/db.ts';
import type { PageParams } from '../infra/db/paginate.ts';
import type { DeploymentLogRow, DeploymentRow, JobRow, RunRow } from '../infra/db/schema.ts';
import type { Queue } from '../infra/queue/queue.ts';
import { isTerminal } from '../runs/events.ts';
import type { RunConfig } from '../runs/present.ts';
import { codeOf, type DeploymentResolver, type RunService, type ServedConfig } from '../runs/service.ts';
import { analyze, routesToCanary, sampleRuns, toCanaryView } from './canary.ts';
import type { CreateDeploymentBody, DeploymentStatus } from './schema.ts';
import type { DeploymentFilters, DeploymentStore } from './store.ts';
import { type CanaryStrategy, parseStrategy } from './strategy.ts';

/** How long a validating job sleeps before looking at its smoke run again (the run's end wakes it). */
const SMOKE_RECHECK_MS = 1_000;
/** How far behind now a canary's analysis window ends (runs ending now may not be committed yet). */
const CANARY_SETTLE_MS = 250;
const BUILTIN_POLICIES = ['none', 'baseline', 'pii-redact', 'pii-block', 'strict'];

export interface DeploymentConfig extends ServedConfig {
  name: string;
  smoke_test: { input: Record<string, unknown>; expect?: string } | null;
}

export interface DeploymentEvent {
  type: 'deployment.log' | 'deployment.status';
  sequence_number: number;
  deployment_id: string;
  ts: string;
  level: string;
  step: string;
  message: string;
  status?: string;
}

export const deploymentTopic = (id: string) => `deployment:${id}`;
/** Statuses after which nothing more is logged. */
export const isFinalDeploymentStatus = (s: string) =>
  s === 'failed' || s === 'superseded' || s === 'rolled_back';

export function toDeployment(row: DeploymentRow) {
  return {
    id: row.id,
    object: 'deployment' as const,
    agent_id: row.agent_id,
    environment: row.environment,
    version: row.version,
    status: row.status as DeploymentStatus,
    config: JSON.parse(row.config) as DeploymentConfig,
    previous_deployment_id: row.previous_deployment_id,
    description: row.description,
    created_at: iso(row.created_at)!,
    activated_at: iso(row.activated_at),
    failed_reason: row.failed_reason,
    metadata: JSON.parse(row.metadata) as Record<string, string>,
    strategy: row.strategy
      ? (JSON.parse(row.strategy) as CanaryStrategy)
      : ({ type: 'immediate' } as const satisfies { type: 'immediate' }),
    canary: toCanaryView(row),
  };
}
export type Deployment = ReturnType<typeof toDeployment>;

export const toLogLine = (r: DeploymentLogRow) => ({
  sequence_number: r.seq,
  ts: iso(r.ts)!,
  level: r.level as 'info' | 'warn' | 'error',
  step: r.step,
  message: r.message,
});

export const toEvent = (r: DeploymentLogRow): DeploymentEvent => ({
  type: r.status === null ? 'deployment.log' : 'deployment.status',
  deployment_id: r.deployment_id,
  ...toLogLine(r),
  ...(r.status !== null && { status: r.status }),
});

export interface DeploymentServiceDeps {
  db: Db;
  store: DeploymentStore;
  agents: AgentService;
  runs: () => RunService;
  /** a run as stored, whatever its organization (the smoke run) */
  runRow: (id: string) => Promise<RunRow | undefined>;
  queue: Queue;
  bus: Bus;
  models: ModelRegistry;
  ids: IdFactory;
  clock: Clock;
  /** 422 unknown_guardrail_policy unless `guardrails` names a template or a policy (src/guardrails) */
  checkGuardrails?: (orgId: string, ref: string | null) => Promise<void>;
  /** audit log: create and rollback record inside their transactions */
  audit?: AuditRecorder;
  /** code agents: compiles and loads the module in the sandbox (null: it loads; src/engine/sandbox/) */
  loadCode?: (code: string) => Promise<CodeError | null>;
  /** a canary rolled back by its analysis is an alert event on the organization's channels */
  alerts?: AlertNotifier;
  /** an analysis that threw (it is tried again at the next tick) */
  onCanaryError?: (err: unknown, deploymentId: string) => void;
}

type Line = { level?: 'info' | 'warn' | 'error'; step: string; message: string; status?: DeploymentStatus };

class StepFailed extends Error {
  readonly step: string;
  constructor(step: string, message: string) {
    super(message);
    this.step = step;
  }
}

export function createDeploymentService(deps: DeploymentServiceDeps) {
  const { db, store, agents, queue, bus, models, ids, clock } = deps;
  const k = db.kysely;

  async function mustGet(orgId: string, id: string) {
    const row = await store.get(orgId, id);
    if (!row) throw notFound('deployment', id);
    return row;
  }

  const publish = (rows: DeploymentLogRow[]) => {
    for (const r of rows) bus.publish(deploymentTopic(r.deployment_id), toEvent(r));
  };

  const appendIn = (trx: typeof k, deploymentId: string, line: Line) =>
    store.appendLog(trx, {
      deployment_id: deploymentId,
      ts: clock.now(),
      level: line.level ?? 'info',
      step: line.step,
      message: line.message,
      status: line.status ?? null,
    });

  async function log(deploymentId: string, line: Line) {
    const row = await k.transaction().execute((trx) => appendIn(trx, deploymentId, line));
    publish([row]);
  }

  /** The job's end: removes this job, optionally scheduling the next look. */
  async function endJob(trx: typeof k, job: JobRow, recheckAt?: number) {
    await queue.complete(trx, job.id);
    if (recheckAt !== undefined)
      await queue.enqueue(trx, { kind: 'deployment', ref_id: job.ref_id, run_at: recheckAt });
  }

  async function fail(dep: DeploymentRow, job: JobRow, step: string, reason: string) {
    const rows = await k.transaction().execute(async (trx) => {
      await endJob(trx, job);
      const ok = await store.transition(trx, dep.id, ['pending', 'validating'], {
        status: 'failed',
        failed_reason: reason,
      });
      if (!ok) return [];
      return [
        await appendIn(trx, dep.id, { level: 'error', step, message: reason }),
        await appendIn(trx, dep.id, {
          level: 'error',
          step: 'status',
          message: 'Deployment failed; the active deployment is unchanged',
          status: 'failed',
        }),
      ];
    });
    publish(rows);
  }

  async function activate(dep: DeploymentRow, job: JobRow) {
    const rows = await k.transaction().execute(async (trx) => {
      await endJob(trx, job);
      await store.lockAgent(trx, dep.agent_id);
      const out: DeploymentLogRow[] = [];
      const current = await store.active(dep.agent_id, dep.environment, trx);
      if (current && current.version > dep.version) {
        if (await store.transition(trx, dep.id, ['validating'], { status: 'superseded' })) {
          out.push(
            await appendIn(trx, dep.id, {
              level: 'warn',
              step: 'status',
              message: `Not activated: version ${current.version} (${current.id}) is already active in ${dep.environment}`,
              status: 'superseded',
            }),
          );
        }
        return out;
      }
      const now = clock.now();
      const strategy = dep.strategy ? (JSON.parse(dep.strategy) as CanaryStrategy) : null;
      if (strategy && current) {
        out.push(...(await startCanary(trx, dep, current, strategy)));
        return out;
      }
      if (strategy)
        out.push(
          await appendIn(trx, dep.id, {
            step: 'canary',
            message: `No deployment is active in ${dep.environment} to compare a canary with: activated at once`,
          }),
        );
      // an immediate deployment replaces a running canary too
      const canary = await store.canary(dep.agent_id, dep.environment, trx);
      if (canary && canary.id !== dep.id) {
        await store.transition(trx, canary.id, ['canary'], {
          status: 'superseded',
          canary_percent: 0,
          canary_next_at: null,
        });
        out.push(
          await appendIn(trx, canary.id, {
            level: 'warn',
            step: 'status',
            message: `Canary ended: version ${dep.version} (${dep.id}) was deployed to ${dep.environment} at once`,
            status: 'superseded',
          }),
        );
      }
      if (current) {
        await store.transition(trx, current.id, ['active'], { status: 'superseded' });
        out.push(
          await appendIn(trx, current.id, {
            step: 'status',
            message: `Superseded by version ${dep.version} (${dep.id})`,
            status: 'superseded',
          }),
        );
      }
      const ok = await store.transition(trx, dep.id, ['validating'], {
        status: 'active',
        activated_at: now,
        previous_deployment_id: current?.id ?? null,
        ...(strategy && { canary_percent: 100 }),
      });
      if (!ok) throw new Error(`deployment ${dep.id} left validating during activation`);
      out.push(
        await appendIn(trx, dep.id, {
          step: 'status',
          message: `Version ${dep.version} is active in ${dep.environment}${current ? `, replacing version ${current.version}` : ''}`,
          status: 'active',
        }),
      );
      return out;
    });
    serving.invalidate();
    publish(rows);
  }

  const pct = (n: number) => `${n} %`;

  /** validating → canary: the candidate starts serving its first step's share (see canary.ts). */
  async function startCanary(
    trx: typeof k,
    dep: DeploymentRow,
    current: DeploymentRow,
    strategy: CanaryStrategy,
  ) {
    const now = clock.now();
    const share = strategy.steps[0];
    const nextAt = now + strategy.analysis.interval_s * 1000;
    const ok = await store.transition(trx, dep.id, ['validating'], {
      status: 'canary',
      previous_deployment_id: current.id,
      canary_step: 0,
      canary_percent: share,
      canary_step_started_at: now,
      canary_next_at: nextAt,
      canary_failures: 0,
    });
    if (!ok) throw new Error(`deployment ${dep.id} left validating while starting its canary`);
    return [
      await appendIn(trx, dep.id, {
        step: 'canary',
        message: `Canary step 1 of ${strategy.steps.length}: version ${dep.version} serves ${pct(share)} of ${dep.environment}'s runs, version ${current.version} (${current.id}) the rest; first analysis at ${iso(nextAt)}`,
        status: 'canary',
      }),
      await appendIn(trx, current.id, {
        step: 'canary',
        message: `Canary started: version ${dep.version} (${dep.id}) serves ${pct(share)} of the runs`,
      }),
    ];
  }

  /** canary → active (the active one superseded); in the caller's transaction, agent locked. */
  async function promoteIn(trx: typeof k, dep: DeploymentRow, why: string) {
    const now = clock.now();
    const out: DeploymentLogRow[] = [];
    const current = await store.active(dep.agent_id, dep.environment, trx);
    if (current) {
      await store.transition(trx, current.id, ['active'], { status: 'superseded' });
      out.push(
        await appendIn(trx, current.id, {
          step: 'status',
          message: `Superseded by version ${dep.version} (${dep.id}), promoted from canary`,
          status: 'superseded',
        }),
      );
    }
    const ok = await store.transition(trx, dep.id, ['canary'], {
      status: 'active',
      activated_at: now,
      previous_deployment_id: current?.id ?? dep.previous_deployment_id,
      canary_percent: 100,
      canary_next_at: null,
    });
    if (!ok) throw new Error(`deployment ${dep.id} left canary during promotion`);
    out.push(
      await appendIn(trx, dep.id, {
        step: 'status',
        message: `Promoted ${why}: version ${dep.version} is active in ${dep.environment}${current ? `, replacing version ${current.version}` : ''}`,
        status: 'active',
      }),
    );
    return out;
  }

  /** canary → rolled_back: it serves nothing from the commit on; the active one serves everything. */
  async function rollBackCanaryIn(
    trx: typeof k,
    dep: DeploymentRow,
    reason: string,
    level: 'warn' | 'error',
  ) {
    const ok = await store.transition(trx, dep.id, ['canary'], {
      status: 'rolled_back',
      canary_percent: 0,
      canary_next_at: null,
      failed_reason: reason,
    });
    if (!ok) throw new Error(`deployment ${dep.id} left canary during its rollback`);
    const current = await store.active(dep.agent_id, dep.environment, trx);
    const out = [
      await appendIn(trx, dep.id, {
        level,
        step: 'canary',
        message: `Rolled back: ${reason}. ${current ? `Version ${current.version} (${current.id})` : 'The active version'} serves all of ${dep.environment}'s runs again`,
        status: 'rolled_back',
      }),
    ];
    if (current)
      out.push(
        await appendIn(trx, current.id, {
          step: 'canary',
          message: `Canary version ${dep.version} (${dep.id}) rolled back; this version serves all runs again`,
        }),
      );
    return out;
  }

  /** Re-reads a canary under its agent's lock; 422 unless it is still a running canary. */
  async function lockedCanary(trx: typeof k, orgId: string, id: string) {
    const first = await store.get(orgId, id, trx);
    if (!first) throw notFound('deployment', id);
    await store.lockAgent(trx, first.agent_id);
    const dep = (await store.get(orgId, id, trx))!;
    if (dep.status !== 'canary')
      throw unprocessable(
        'not_canary',
        `Deployment ${id} is ${dep.status}; only a running canary can be promoted or aborted`,
        'id',
      );
    return dep;
  }

  /** POST /promote: the canary becomes the active deployment now, whatever its step. */
  async function promote(orgId: string, id: string) {
    const { rows, dep } = await k.transaction().execute(async (trx) => {
      const dep = await lockedCanary(trx, orgId, id);
      const rows = await promoteIn(trx, dep, 'by hand');
      await deps.audit?.record(trx, {
        orgId,
        action: 'deployment.promoted',
        resource: { type: 'deployment', id },
        changes: ['status'],
      });
      return { rows, dep };
    });
    serving.invalidate();
    publish(rows);
    return toDeployment((await store.getById(dep.id))!);
  }

  /** POST /abort (and /rollback of a canary): the canary stops serving now. */
  async function abort(orgId: string, id: string) {
    const rows = await k.transaction().execute(async (trx) => {
      const dep = await lockedCanary(trx, orgId, id);
      const rows = await rollBackCanaryIn(trx, dep, 'aborted by hand', 'warn');
      await deps.audit?.record(trx, {
        orgId,
        action: 'deployment.aborted',
        resource: { type: 'deployment', id },
        changes: ['status'],
      });
      return rows;
    });
    serving.invalidate();
    publish(rows);
    return toDeployment((await store.getById(id))!);
  }

  /** One analysis of a due canary (see canary.ts): advance, promote, count a failure, or roll back. */
  async function analyzeCanary(due: DeploymentRow, now: number) {
    const strategy = JSON.parse(due.strategy!) as CanaryStrategy;
    const spec = strategy.analysis;
    const step = due.canary_step ?? 0;
    const from = due.canary_step_started_at ?? now;
    // the window ends CANARY_SETTLE_MS ago: a run that just ended may not be committed yet, and the
    // next window starts there, so every run falls in exactly one window
    const to = Math.max(from, now - CANARY_SETTLE_MS);
    const runs = await sampleRuns(k, due.id, from, to);
    const analysis = analyze(spec, runs, { now, from, step: step + 1, percent: due.canary_percent ?? 0 });
    const verdict =
      analysis.result !== 'inconclusive'
        ? analysis.result
        : spec.on_no_data === 'wait'
          ? 'wait'
          : spec.on_no_data === 'fail'
            ? 'failed'
            : 'passed';
    const nextAt = now + spec.interval_s * 1000;
    let alerted = false;
    const rows = await k.transaction().execute(async (trx) => {
      await store.lockAgent(trx, due.agent_id);
      const dep = await store.getById(due.id, trx);
      // another analyzer (or a promote, an abort) got there first
      if (!dep || dep.status !== 'canary' || dep.canary_next_at !== due.canary_next_at) return [];
      const stored = JSON.stringify(analysis);
      const out: DeploymentLogRow[] = [];
      const stepOf = (i: number) => `step ${i + 1} of ${strategy.steps.length}`;
      if (verdict === 'wait') {
        await store.canaryStep(trx, dep.id, due.canary_next_at!, {
          canary_next_at: nextAt,
          canary_analysis: stored,
        });
        out.push(
          await appendIn(trx, dep.id, {
            step: 'analysis',
            message: `${analysis.message}; ${stepOf(step)} continues and is analyzed again at ${iso(nextAt)} (on_no_data: wait)`,
          }),
        );
        return out;
      }
      if (verdict === 'passed') {
        await store.canaryStep(trx, dep.id, due.canary_next_at!, { canary_analysis: stored });
        out.push(await appendIn(trx, dep.id, { step: 'analysis', message: analysis.message }));
        if (step + 1 >= strategy.steps.length) {
          out.push(
            ...(await promoteIn(
              trx,
              dep,
              `after ${strategy.steps.length === 1 ? 'its analysis' : 'every step'} passed`,
            )),
          );
          return out;
        }
        const share = strategy.steps[step + 1];
        await store.canaryStep(trx, dep.id, due.canary_next_at!, {
          canary_step: step + 1,
          canary_percent: share,
          canary_step_started_at: to,
          canary_next_at: nextAt,
        });
        out.push(
          await appendIn(trx, dep.id, {
            step: 'canary',
            message: `Canary ${stepOf(step + 1)}: version ${dep.version} serves ${pct(share)} of ${dep.environment}'s runs; next analysis at ${iso(nextAt)}`,
          }),
        );
        return out;
      }
      const failures = (dep.canary_failures ?? 0) + 1;
      if (failures <= spec.failure_limit) {
        await store.canaryStep(trx, dep.id, due.canary_next_at!, {
          canary_failures: failures,
          canary_step_started_at: to,
          canary_next_at: nextAt,
          canary_analysis: stored,
        });
        out.push(
          await appendIn(trx, dep.id, {
            level: 'warn',
            step: 'analysis',
            message: `${analysis.message} (failure ${failures}; failure_limit ${spec.failure_limit} tolerates ${spec.failure_limit}); measuring ${stepOf(step)} again until ${iso(nextAt)}`,
          }),
        );
        return out;
      }
      await store.canaryStep(trx, dep.id, due.canary_next_at!, {
        canary_failures: failures,
        canary_analysis: stored,
      });
      out.push(await appendIn(trx, dep.id, { level: 'error', step: 'analysis', message: analysis.message }));
      const reason = `analysis failed at ${stepOf(step)} (${pct(dep.canary_percent ?? 0)} of runs): ${analysis.message.replace(/^Analysis failed /, '')}`;
      out.push(...(await rollBackCanaryIn(trx, { ...dep, canary_failures: failures }, reason, 'error')));
      await deps.audit?.record(trx, {
        orgId: dep.org_id,
        action: 'deployment.canary_rolled_back',
        resource: { type: 'deployment', id: dep.id },
        changes: ['status'],
      });
      const worst = analysis.metrics.find((m) => !m.passed);
      if (deps.alerts) {
        const n = await deps.alerts.notify(trx, dep.org_id, {
          state: 'canary_rolled_back',
          value: worst?.value ?? null,
          threshold: worst?.max ?? spec.min_runs,
          details: {
            metric: worst?.name ?? null,
            message: `Canary version ${dep.version} of agent ${dep.agent_id} in ${dep.environment} rolled back: ${reason}`,
            deployment: {
              id: dep.id,
              agent_id: dep.agent_id,
              environment: dep.environment,
              version: dep.version,
            },
            analysis,
          },
        });
        alerted = n > 0;
      }
      return out;
    });
    if (rows.length === 0) return;
    serving.invalidate();
    publish(rows);
    if (alerted) deps.alerts?.committed();
  }

  /** Analyzes every canary whose interval has passed (the analyzer's tick; tests call it directly). */
  async function analyzeDue() {
    const now = clock.now();
    for (const dep of await store.dueCanaries(now)) {
      try {
        await analyzeCanary(dep, now);
      } catch (err) {
        deps.onCanaryError?.(err, dep.id);
      }
    }
  }

  /** Code agents: the module compiles and loads in the sandbox, its default export a function. */
  async function checkCode(dep: DeploymentRow, code: string) {
    if (!deps.loadCode) throw new StepFailed('code', 'Code agents are not available on this server');
    const error = await deps.loadCode(code);
    if (error) {
      const at =
        error.line !== null
          ? ` at line ${error.line}${error.column !== null ? `, column ${error.column}` : ''}`
          : '';
      throw new StepFailed('code', `The agent's code does not load: ${error.message}${at}`);
    }
    await log(dep.id, { step: 'code', message: 'The module compiles and its default export is a function' });
  }

  /** Steps that need no run: configuration shape, code, model provider, guardrail policy. */
  async function staticChecks(dep: DeploymentRow) {
    let config: DeploymentConfig;
    try {
      config = JSON.parse(dep.config) as DeploymentConfig;
    } catch {
      throw new StepFailed('config', 'The configuration snapshot is not valid JSON');
    }
    const isCode = typeof config.code === 'string';
    const wellFormed =
      typeof config.model === 'string' &&
      (config.model.length > 0 || isCode) &&
      (config.instructions === null || typeof config.instructions === 'string') &&
      typeof config.parameters === 'object' &&
      config.parameters !== null &&
      !Array.isArray(config.parameters) &&
      Array.isArray(config.tools) &&
      config.tools.every((t) => typeof t === 'string');
    if (!wellFormed) throw new StepFailed('config', 'The configuration is malformed');
    await log(dep.id, { step: 'config', message: 'Configuration is well-formed' });
    if (isCode) await checkCode(dep, config.code!);
    if (config.model !== '') {
      try {
        models.validate(config.model);
      } catch (err) {
        throw new StepFailed('model', `Model '${config.model}' is not resolvable: ${(err as Error).message}`);
      }
      if (!models.isConfigured(config.model))
        throw new StepFailed('model', `The provider of '${config.model}' is not configured on this server`);
      await log(dep.id, {
        step: 'model',
        message: `Model '${config.model}' resolves to a configured provider`,
      });
    } else await log(dep.id, { step: 'model', message: 'No model (a code agent without ctx.model)' });
    if (deps.checkGuardrails) {
      try {
        await deps.checkGuardrails(dep.org_id, config.guardrails);
      } catch (err) {
        throw new StepFailed('guardrails', (err as Error).message);
      }
    } else if (config.guardrails !== null && !BUILTIN_POLICIES.includes(config.guardrails))
      throw new StepFailed(
        'guardrails',
        `Unknown guardrail policy '${config.guardrails}' (known: ${Object.keys(builtinTemplates).join(', ')})`,
      );
    await log(dep.id, {
      step: 'guardrails',
      message:
        config.guardrails === null
          ? 'No guardrail policy'
          : `Guardrail policy '${config.guardrails}' is known`,
    });
    return config;
  }

  async function startSmokeRun(dep: DeploymentRow, config: DeploymentConfig, job: JobRow) {
    const smoke = config.smoke_test!;
    const runConfig: RunConfig = {
      model: config.model,
      instructions: config.instructions,
      parameters: config.parameters,
      tools: config.tools,
      guardrails: config.guardrails,
      agent_version: config.agent_version,
      stream: false,
      ...(typeof config.code === 'string' && { code: config.code }),
      ...(config.code_limits && { code_limits: config.code_limits }),
    };
    // The smoke run is the organization's own (it shows in its runs), on no API key.
    const system = { orgId: dep.org_id, keyId: null } as unknown as Principal;
    const runs = deps.runs();
    const { row } = await runs.create(
      system,
      { agent_id: dep.agent_id, input: smoke.input, metadata: { deployment_smoke_test: dep.id } },
      {
        config: JSON.stringify(runConfig),
        model: config.model,
        deployment_id: dep.id,
        api_key_id: null,
      },
    );
    const logged = await k.transaction().execute(async (trx) => {
      await store.setSmokeRun(trx, dep.id, row.id);
      await endJob(trx, job, clock.now() + SMOKE_RECHECK_MS);
      return appendIn(trx, dep.id, { step: 'smoke_test', message: `Smoke run ${row.id} started` });
    });
    publish([logged]);
    runs.kick();
    // it may have finished before the re-check was scheduled: then wake that job now
    const after = await deps.runRow(row.id);
    if (after && isTerminal(after.status)) await wake(dep.id);
  }

  async function wake(deploymentId: string) {
    await queue.wake('deployment', deploymentId);
  }

  async function judgeSmokeRun(dep: DeploymentRow, config: DeploymentConfig, job: JobRow) {
    const run = await deps.runRow(dep.smoke_run_id!);
    if (!run) throw new StepFailed('smoke_test', `Smoke run ${dep.smoke_run_id} is missing`);
    if (!isTerminal(run.status)) {
      await k.transaction().execute((trx) => endJob(trx, job, clock.now() + SMOKE_RECHECK_MS));
      const again = await deps.runRow(run.id);
      if (again && isTerminal(again.status)) await wake(dep.id);
      return false;
    }
    if (run.status !== 'completed') {
      const error = run.error ? (JSON.parse(run.error) as { code: string; message: string }) : null;
      throw new StepFailed(
        'smoke_test',
        `Smoke run ${run.id} ${run.status}${error ? `: ${error.code}: ${error.message}` : ''}`,
      );
    }
    const result = run.output ? (JSON.parse(run.output) as { result?: unknown }).result : undefined;
    const expect = config.smoke_test?.expect;
    if (typeof expect === 'string' && !(typeof result === 'string' && result.includes(expect)))
      throw new StepFailed(
        'smoke_test',
        `Smoke run ${run.id} completed but its output does not contain ${JSON.stringify(expect)}`,
      );
    await log(dep.id, { step: 'smoke_test', message: `Smoke run ${run.id} passed` });
    return true;
  }

  /** The 'deployment' job: one pass of the validation state machine (see the header). */
  async function handle(job: JobRow): Promise<void> {
    let dep = await store.getById(job.ref_id);
    if (!dep || (dep.status !== 'pending' && dep.status !== 'validating')) {
      await k.transaction().execute((trx) => queue.complete(trx, job.id));
      return;
    }
    if (dep.status === 'pending') {
      const rows = await k.transaction().execute(async (trx) => {
        if (!(await store.transition(trx, dep!.id, ['pending'], { status: 'validating' }))) return [];
        return [
          await appendIn(trx, dep!.id, { step: 'status', message: 'Validating', status: 'validating' }),
        ];
      });
      publish(rows);
      dep = { ...dep, status: 'validating' };
    }
    try {
      const config =
        dep.smoke_run_id === null ? await staticChecks(dep) : (JSON.parse(dep.config) as DeploymentConfig);
      if (config.smoke_test && dep.smoke_run_id === null) {
        await startSmokeRun(dep, config, job);
        return;
      }
      if (config.smoke_test) {
        if (!(await judgeSmokeRun(dep, config, job))) return;
      } else {
        await log(dep.id, { step: 'smoke_test', message: 'No smoke test configured; skipped' });
      }
      await activate(dep, job);
    } catch (err) {
      if (!(err instanceof StepFailed)) throw err;
      await fail(dep, job, err.step, err.message);
    }
  }

  /** Which deployment serves a run (see DeploymentResolver). */
  // What serves an environment is read on every run: kept in memory, invalidated after each
  // activation or rollback commits (on every process, through the bus; the TTL bounds a lost message).
  type Served = { id: string; config: DeploymentConfig };
  const serving = createReadCache<{ stable: Served | null; canary: (Served & { percent: number }) | null }>({
    shared: { bus, topic: 'cache:deployments-serving' },
    ttlMs: 1_000,
    max: 10_000,
    now: () => clock.now(),
  });
  const resolve: DeploymentResolver = async (orgId, agentId, selector) => {
    let dep: DeploymentRow | undefined;
    if (selector.deployment_id !== undefined) {
      dep = await store.get(orgId, selector.deployment_id);
      if (!dep) throw notFound('deployment', selector.deployment_id, 'deployment_id');
      if (dep.agent_id !== agentId)
        throw unprocessable(
          'deployment_agent_mismatch',
          `Deployment ${dep.id} is not of agent ${agentId}`,
          'deployment_id',
        );
      if (selector.environment !== undefined && selector.environment !== dep.environment)
        throw unprocessable(
          'deployment_environment_mismatch',
          `Deployment ${dep.id} is in environment '${dep.environment}'`,
          'environment',
        );
      if (!['active', 'canary', 'superseded', 'rolled_back'].includes(dep.status))
        throw unprocessable(
          'deployment_not_runnable',
          `Deployment ${dep.id} is ${dep.status}; only a deployment that passed validation can serve runs`,
          'deployment_id',
        );
    } else {
      const environment = selector.environment ?? 'production';
      const served = await serving.get(`${agentId}/${environment}`, async () => {
        const [active, canary] = await Promise.all([
          store.active(agentId, environment),
          store.canary(agentId, environment),
        ]);
        return {
          stable: active ? { id: active.id, config: JSON.parse(active.config) as DeploymentConfig } : null,
          canary:
            canary && (canary.canary_percent ?? 0) > 0
              ? {
                  id: canary.id,
                  config: JSON.parse(canary.config) as DeploymentConfig,
                  percent: canary.canary_percent ?? 0,
                }
              : null,
        };
      });
      const { canary } = served;
      if (canary && routesToCanary(canary.percent, selector.routing_key))
        return { id: canary.id, config: canary.config };
      return served.stable;
    }
    return { id: dep.id, config: JSON.parse(dep.config) as DeploymentConfig };
  };

  /** Runtime lines: each run a deployment serves. Best effort: never fails the run. */
  async function onRun(run: RunRow, phase: 'started' | 'finished') {
    if (!run.deployment_id) return;
    const dep = await store.getById(run.deployment_id);
    if (!dep) return;
    const smoke = dep.smoke_run_id === run.id;
    const step = smoke ? 'smoke_test' : 'runtime';
    if (phase === 'started') {
      await log(dep.id, { step, message: `Run ${run.id} started` });
      return;
    }
    if (run.status === 'completed') {
      await log(dep.id, { step, message: `Run ${run.id} finished in ${run.latency_ms ?? 0} ms` });
    } else {
      const error = run.error ? (JSON.parse(run.error) as { code: string; message: string }) : null;
      await log(dep.id, {
        level: 'warn',
        step,
        message: `Run ${run.id} ${run.status}${error ? `: ${error.code}: ${error.message}` : ''}`,
      });
    }
    if (smoke) await wake(dep.id);
  }

  return {
    async create(orgId: string, body: CreateDeploymentBody) {
      const strategy = parseStrategy(body.strategy);
      const agent = await agents.row(orgId, body.agent_id).catch((err: unknown) => {
        throw isNotFound(err) ? notFound('agent', body.agent_id, 'agent_id') : err;
      });
      await deps.checkGuardrails?.(orgId, agent.guardrails);
      const config: DeploymentConfig = {
        name: agent.name,
        model: agent.model,
        instructions: agent.instructions,
        parameters: JSON.parse(agent.parameters),
        tools: JSON.parse(agent.tools),
        guardrails: agent.guardrails,
        smoke_test: agent.smoke_test === null ? null : JSON.parse(agent.smoke_test),
        agent_version: agent.version,
        ...codeOf(agent),
      };
      const now = clock.now();
      const environment = body.environment ?? 'production';
      const { row, logged } = await k.transaction().execute(async (trx) => {
        await store.lockAgent(trx, agent.id);
        if (strategy) {
          const open = await store.openCanary(agent.id, environment, trx);
          if (open)
            throw conflict(
              'canary_in_progress',
              `Deployment ${open.id} is already a canary of agent ${agent.id} in ${environment} (${open.status}); promote or abort it first`,
            );
        }
        const row: DeploymentRow = {
          id: ids('dep'),
          org_id: orgId,
          agent_id: agent.id,
          environment,
          version: await store.nextVersion(trx, agent.id),
          status: 'pending',
          config: JSON.stringify(config),
          previous_deployment_id: null,
          description: body.description ?? null,
          metadata: JSON.stringify(body.metadata ?? {}),
          failed_reason: null,
          smoke_run_id: null,
          log_seq: 0,
          created_at: now,
          activated_at: null,
          strategy: strategy ? JSON.stringify(strategy) : null,
          canary_failures: 0,
        };
        await store.insert(trx, row);
        const logged = await appendIn(trx, row.id, {
          step: 'status',
          message: `Version ${row.version} of agent ${agent.id} (agent version ${agent.version}) created for ${environment}${strategy ? ` as a canary (steps ${strategy.steps.map(pct).join(', ')}, analysis every ${strategy.analysis.interval_s} s)` : ''}`,
          status: 'pending',
        });
        await queue.enqueue(trx, { kind: 'deployment', ref_id: row.id });
        await deps.audit?.record(trx, {
          orgId,
          action: 'deployment.created',
          resource: { type: 'deployment', id: row.id },
          changes: ['agent_id', ...Object.keys(body).filter((f) => f !== 'agent_id')],
          statusCode: 202,
        });
        return { row: { ...row, log_seq: 1 }, logged };
      });
      publish([logged]);
      queue.notify();
      return toDeployment(row);
    },
    async get(orgId: string, id: string) {
      return toDeployment(await mustGet(orgId, id));
    },
    async list(orgId: string, filters: DeploymentFilters, page: PageParams) {
      const { rows, has_more } = await store.list(orgId, filters, page);
      return { data: rows.map(toDeployment), has_more };
    },

    /** Returns the environment to the deployment active before `id`; answers the now-active one. */
    async rollback(orgId: string, id: string) {
      // a canary's rollback is its abort (the environment's active version never changed)
      if ((await mustGet(orgId, id)).status === 'canary') {
        const aborted = await abort(orgId, id);
        const active = await store.active(aborted.agent_id, aborted.environment);
        return active ? toDeployment(active) : aborted;
      }
      const { target, rows } = await k.transaction().execute(async (trx) => {
        const first = await store.get(orgId, id, trx);
        if (!first) throw notFound('deployment', id);
        await store.lockAgent(trx, first.agent_id);
        const dep = (await store.get(orgId, id, trx))!;
        if (dep.status !== 'active')
          throw unprocessable(
            'not_active',
            `Deployment ${id} is ${dep.status}; only the active deployment of an environment can be rolled back`,
            'id',
          );
        const canary = await store.canary(dep.agent_id, dep.environment, trx);
        if (canary)
          throw unprocessable(
            'canary_in_progress',
            `Canary ${canary.id} runs against ${id} in ${dep.environment}; promote or abort it first`,
            'id',
          );
        let target: DeploymentRow | undefined;
        const seen = new Set<string>([dep.id]);
        for (let prev = dep.previous_deployment_id; prev && !seen.has(prev); ) {
          seen.add(prev);
          const p = await store.getById(prev, trx);
          if (!p) break;
          if (p.status === 'superseded') {
            target = p;
            break;
          }
          prev = p.previous_deployment_id;
        }
        if (!target)
          throw unprocessable(
            'nothing_to_roll_back_to',
            `No deployment was active in ${dep.environment} before ${id}`,
            'id',
          );
        const now = clock.now();
        await store.transition(trx, dep.id, ['active'], { status: 'rolled_back' });
        await store.transition(trx, target.id, ['superseded'], { status: 'active', activated_at: now });
        const rows = [
          await appendIn(trx, dep.id, {
            level: 'warn',
            step: 'rollback',
            message: `Rolled back: version ${target.version} (${target.id}) is active in ${dep.environment} again`,
            status: 'rolled_back',
          }),
          await appendIn(trx, target.id, {
            step: 'rollback',
            message: `Active again: version ${dep.version} (${dep.id}) was rolled back`,
            status: 'active',
          }),
        ];
        await deps.audit?.record(trx, {
          orgId,
          action: 'deployment.rolled_back',
          resource: { type: 'deployment', id: dep.id },
          changes: ['status'],
        });
        return { target: { ...target, status: 'active', activated_at: now }, rows };
      });
      serving.invalidate();
      publish(rows);
      return toDeployment(target);
    },

    async logs(orgId: string, id: string, afterSeq: number, limit: number) {
      await mustGet(orgId, id);
      const rows = await store.logsAfter(id, afterSeq, limit + 1);
      const has_more = rows.length > limit;
      if (has_more) rows.pop();
      return { data: rows.map(toLogLine), has_more };
    },
    /** Stored events after `afterSeq`, and the deployment's status as it stands. */
    async eventsAfter(orgId: string, id: string, afterSeq: number) {
      const row = await mustGet(orgId, id);
      const events = (await store.logsAfter(id, afterSeq)).map(toEvent);
      return { events, status: row.status };
    },
    /** resolves once this process hears what is published about the deployment from now on (Bus.ready) */
    ready: (id: string) => bus.ready(deploymentTopic(id)),
    subscribe: (id: string, listener: (e: DeploymentEvent) => void, onResync?: () => void) =>
      bus.subscribe(deploymentTopic(id), (m) => listener(m as DeploymentEvent), onResync),

    promote,
    abort,
    analyzeDue,
    handle,
    /** The queue gave up on a deployment's job (its handler kept failing): the deployment fails. */
    async giveUp(job: JobRow): Promise<void> {
      const dep = await store.getById(job.ref_id);
      if (!dep || (dep.status !== 'pending' && dep.status !== 'validating')) return;
      await fail(
        dep,
        job,
        'internal',
        'Validation could not complete (an internal error, logged by the server); create the deployment again',
      );
    },
    resolve,
    onRunStarted: (run: RunRow) => onRun(run, 'started'),
    onRunFinished: (run: RunRow) => onRun(run, 'finished'),
  };
}
export type DeploymentService = ReturnType<typeof createDeploymentService>;
