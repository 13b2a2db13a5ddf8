/**
 * The sandbox pool: `worker_threads` workers (worker.ts), each hosting up to `guestsPerWorker`
 * QuickJS guests, so guest code never runs on the thread that serves the API.
 *
 * Workers start on demand, up to `workers`, and then stay (a warm pool: a guest costs a fresh
 * QuickJS runtime, not a thread). A guest goes to an idle worker, else a new one while there is
 * room, else the least busy one under the cap; past that it waits its turn (its wall time runs).
 *
 * Host calls come in as messages and are answered by the run's `host` (code-run.ts); the worker
 * never sees a host object. Cancel and wall-time timeout set the guest's shared flag, which its
 * interrupt handler reads even while it spins, and the run is answered at once with the abort
 * reason: the caller never waits on a busy worker.
 *
 * A worker that dies (its isolate ran out of memory, a crash) fails every guest it held with
 * `sandbox_crashed` and is replaced by the next guest that needs one. (A guest that breaks its own
 * WebAssembly instance fails alone: each guest has an instance of its own, worker.ts.) A worker
 * whose guest hit its memory limit is retired: it takes no new guest and is terminated once idle,
 * which gives that memory back to the system (worker.ts says why it would not be otherwise).
 */
import { Worker } from 'node:worker_threads';
import type { CodeError, FromWorker, GuestFailure, GuestLimits, HostCallKind, ToWorker } from './protocol.ts';

export interface SandboxHost {
  /** A host call's answer (any JSON value), or a throw: a HostCallError's code and message reach the guest. */
  call(kind: HostCallKind, payload: unknown): Promise<unknown>;
  log(message: string): void;
}

export interface GuestRequest {
  code: string;
  input: Record<string, unknown>;
  run: Record<string, unknown>;
  limits: GuestLimits;
  signal: AbortSignal;
  host: SandboxHost;
}

export interface GuestResult {
  output: Record<string, unknown>;
  cpu_ms: number;
  host_calls: number;
}

/** The guest ended without an output (protocol.ts, GuestFailure), or its worker died. */
export class SandboxFailure extends Error {
  readonly code: GuestFailure['code'] | 'sandbox_crashed';
  readonly guestStack: string | undefined;
  readonly causeCode: string | undefined;
  constructor(failure: GuestFailure | { code: 'sandbox_crashed'; message: string }) {
    super(failure.message);
    this.name = 'SandboxFailure';
    this.code = failure.code;
    this.guestStack = 'stack' in failure ? failure.stack : undefined;
    this.causeCode = 'cause_code' in failure ? failure.cause_code : undefined;
  }
}

/** A host call's failure shown to the guest as a HostError with this code. */
export class HostCallError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.code = code;
  }
}

export interface SandboxPoolOptions {
  /** AIRMY_SANDBOX_WORKERS */
  workers: number;
  /** AIRMY_SANDBOX_GUESTS_PER_WORKER */
  guestsPerWorker: number;
  /** heap of each worker's own isolate (not the guests': theirs is WebAssembly memory) */
  workerHeapMb?: number;
}

interface Job {
  id: number;
  request: GuestRequest;
  flag: Int32Array;
  resolve: (r: GuestResult) => void;
  reject: (e: unknown) => void;
  slot?: Slot;
  onAbort: () => void;
}

interface Slot {
  worker: Worker;
  ready: Promise<void>;
  guests: Map<number, Job>;
  checks: Map<number, (e: CodeError | null) => void>;
  retiring: boolean;
  dead: boolean;
}

const WORKER_URL = new URL('./worker.ts', import.meta.url);

export function createSandboxPool(options: SandboxPoolOptions) {
  const slots: Slot[] = [];
  const waiting: Job[] = [];
  let nextId = 1;
  let closed = false;
  let crashes = 0;

  function spawn(): Slot {
    const worker = new Worker(WORKER_URL, {
      resourceLimits: { maxOldGenerationSizeMb: options.workerHeapMb ?? 256, stackSizeMb: 8 },
      stdout: false,
      stderr: false,
    });
    let onReady!: () => void;
    let onFail!: (e: unknown) => void;
    const ready = new Promise<void>((res, rej) => {
      onReady = res;
      onFail = rej;
    });
    ready.catch(() => {});
    const slot: Slot = { worker, ready, guests: new Map(), checks: new Map(), retiring: false, dead: false };
    worker.on('message', (m: FromWorker) => onMessage(slot, m, onReady));
    const died = (why: string) => {
      if (slot.dead) return;
      slot.dead = true;
      if (!closed) crashes++;
      onFail(new Error(why));
      const i = slots.indexOf(slot);
      if (i >= 0) slots.splice(i, 1);
      for (const job of slot.guests.values())
        settleJob(job, () =>
          job.reject(
            new SandboxFailure({
              code: 'sandbox_crashed',
              message: `The sandbox running this agent's code stopped (${why}); the worker was replaced — resubmit the run`,
            }),
          ),
        );
      slot.guests.clear();
      for (const done of slot.checks.values())
        done({ message: `The sandbox stopped (${why})`, line: null, column: null });
      slot.checks.clear();
      drain();
    };
    worker.on('error', (e) => died(e instanceof Error ? e.message : String(e)));
    worker.on('exit', (code) => died(`exit code ${code}`));
    slots.push(slot);
    return slot;
  }

  function settleJob(job: Job, fn: () => void) {
    job.request.signal.removeEventListener('abort', job.onAbort);
    if (job.slot) job.slot.guests.delete(job.id);
    fn();
  }

  function onMessage(slot: Slot, m: FromWorker, onReady: () => void) {
    switch (m.t) {
      case 'ready':
        return onReady();
      case 'call': {
        const job = slot.guests.get(m.id);
        if (!job) return;
        let payload: unknown;
        try {
          payload = JSON.parse(m.payload);
        } catch {
          payload = null;
        }
        job.request.host.call(m.kind, payload).then(
          (value) => post(slot, { t: 'reply', id: m.id, call: m.call, value: JSON.stringify(value ?? null) }),
          (error) =>
            post(slot, {
              t: 'reply',
              id: m.id,
              call: m.call,
              error:
                error instanceof HostCallError
                  ? { code: error.code, message: error.message }
                  : { code: 'host_error', message: 'The host call failed unexpectedly' },
            }),
        );
        return;
      }
      case 'log': {
        slot.guests.get(m.id)?.request.host.log(m.message);
        return;
      }
      case 'done': {
        if (m.retire) slot.retiring = true;
        const job = slot.guests.get(m.id);
        if (job) {
          settleJob(job, () => {
            if (m.failure) job.reject(new SandboxFailure(m.failure));
            else
              job.resolve({
                output: JSON.parse(m.output ?? '{}') as Record<string, unknown>,
                cpu_ms: m.cpu_ms,
                host_calls: m.host_calls,
              });
          });
        }
        maybeRetire(slot);
        drain();
        return;
      }
      case 'checked': {
        const done = slot.checks.get(m.id);
        slot.checks.delete(m.id);
        done?.(m.error ?? null);
        maybeRetire(slot);
        return;
      }
      default: {
        const never: never = m;
        throw new Error(`unknown sandbox message ${JSON.stringify(never)}`);
      }
    }
  }

  function post(slot: Slot, m: ToWorker) {
    if (!slot.dead) slot.worker.postMessage(m);
  }

  function maybeRetire(slot: Slot) {
    if (!slot.retiring || slot.guests.size > 0 || slot.checks.size > 0 || slot.dead) return;
    const i = slots.indexOf(slot);
    if (i >= 0) slots.splice(i, 1);
    slot.dead = true;
    void slot.worker.terminate();
  }

  /** The worker a new guest goes to, or null: wait. */
  function pick(): Slot | null {
    const usable = slots.filter((s) => !s.retiring && !s.dead);
    const idle = usable.find((s) => s.guests.size === 0);
    if (idle) return idle;
    if (slots.length < options.workers) return spawn();
    let best: Slot | null = null;
    for (const s of usable)
      if (s.guests.size < options.guestsPerWorker && (!best || s.guests.size < best.guests.size)) best = s;
    return best;
  }

  function dispatch(job: Job, slot: Slot) {
    job.slot = slot;
    slot.guests.set(job.id, job);
    const { request } = job;
    slot.ready.then(
      () => {
        if (!slot.guests.has(job.id)) return; // aborted meanwhile
        post(slot, {
          t: 'start',
          id: job.id,
          code: request.code,
          input: JSON.stringify(request.input),
          run: JSON.stringify(request.run),
          limits: request.limits,
          flag: job.flag.buffer as SharedArrayBuffer,
        });
      },
      () => {}, // died before ready: `died` failed the job
    );
  }

  function drain() {
    while (waiting.length && !closed) {
      const slot = pick();
      if (!slot) return;
      dispatch(waiting.shift()!, slot);
    }
  }

  return {
    /** Runs a guest to its output; rejects with a SandboxFailure, or the signal's reason once aborted. */
    run(request: GuestRequest): Promise<GuestResult> {
      if (closed)
        return Promise.reject(
          new SandboxFailure({ code: 'sandbox_crashed', message: 'The sandbox pool is closed' }),
        );
      if (request.signal.aborted) return Promise.reject(request.signal.reason);
      return new Promise<GuestResult>((resolve, reject) => {
        const job: Job = {
          id: nextId++,
          request,
          flag: new Int32Array(new SharedArrayBuffer(4)),
          resolve,
          reject,
          onAbort: () => {
            Atomics.store(job.flag, 0, 1);
            const i = waiting.indexOf(job);
            if (i >= 0) waiting.splice(i, 1);
            const slot = job.slot;
            settleJob(job, () => reject(request.signal.reason));
            if (slot) {
              post(slot, { t: 'drop', id: job.id });
              drain();
            }
          },
        };
        request.signal.addEventListener('abort', job.onAbort, { once: true });
        const slot = waiting.length === 0 ? pick() : null;
        if (slot) dispatch(job, slot);
        else waiting.push(job);
      });
    },

    /** Compiles a module (and with `evaluate`, runs its top level and checks the default export). */
    async check(code: string, limits: GuestLimits, evaluate = false): Promise<CodeError | null> {
      if (closed) throw new Error('The sandbox pool is closed');
      const slot = slots.find((s) => !s.retiring && !s.dead) ?? spawn();
      await slot.ready;
      const id = nextId++;
      return new Promise<CodeError | null>((resolve) => {
        slot.checks.set(id, resolve);
        post(slot, { t: 'check', id, code, evaluate, limits });
      });
    },

    /** Starts one worker now, so the first code run does not pay for a thread and a module load. */
    async warmUp() {
      if (closed) return;
      const slot = slots[0] ?? spawn();
      await slot.ready;
    },

    stats: () => ({
      workers: slots.length,
      guests: slots.reduce((n, s) => n + s.guests.size, 0),
      waiting: waiting.length,
      crashes,
    }),

    /** Terminates every worker; guests still running fail with `sandbox_crashed`. */
    async close() {
      closed = true;
      for (const job of waiting.splice(0))
        settleJob(job, () =>
          job.reject(new SandboxFailure({ code: 'sandbox_crashed', message: 'The server is shutting down' })),
        );
      await Promise.all(slots.slice().map((s) => s.worker.terminate()));
    },

    /** Tests only: kills a worker as a crash would (it is replaced on demand). */
    async killWorkerForTest(index = 0) {
      const slot = slots.filter((s) => s.guests.size > 0)[index] ?? slots[index];
      if (slot) await slot.worker.terminate();
    },
  };
}
export type SandboxPool = ReturnType<typeof createSandboxPool>;
