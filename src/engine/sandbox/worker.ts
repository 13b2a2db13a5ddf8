/**
 * A sandbox worker thread: hosts several guests at once, each in a QuickJS WebAssembly instance of
 * its own (own linear memory, capped at its memory limit) with a fresh QuickJS runtime and context.
 *
 * Why an instance per guest: QuickJS's own memory limit cannot see the size of what emscripten's
 * malloc hands out (usable size is 0 there), so it only stops single allocations larger than the
 * limit — a guest that allocates 1 MB at a time would grow a shared module's memory to gigabytes.
 * A WebAssembly.Memory with a `maximum` is a hard cap instead: past it malloc fails and the guest
 * gets `out of memory`. Instances come from one compiled WebAssembly.Module (instantiating costs
 * ~1.5 ms) and are reused by the next guest with the same memory limit (a new runtime and context
 * cost ~0.2 ms), unless the guest that had it hit its limit or broke it: then it is dropped. A
 * dropped memory is only given back when this isolate collects it, which may be never while it is
 * idle, so after a guest hits its limit the worker asks to be retired (`retire`): the pool sends it
 * no new guest and terminates it once idle, which returns every page at once. A WebAssembly abort in an instance (it is unusable afterwards) fails only
 * that guest.
 *
 * Scheduling is by events: a guest runs when it starts and when a host call it made is answered,
 * until it awaits again, finishes or is interrupted. A guest that spins keeps this thread busy —
 * never the main thread — until its interrupt handler stops it: CPU time past its limit, or the
 * flag in its SharedArrayBuffer that the main thread sets on cancel and wall-time timeout (read
 * with Atomics, so it is seen while the guest spins and no message can be processed).
 *
 * The guest holds no host object. Host calls cross as JSON strings in messages (protocol.ts); the
 * main thread does the work (model, tools) and answers. `ctx.sleep` is a timer here; `ctx.log` is
 * a one-way message. Every one of them counts against the host-call limit.
 */
import { parentPort } from 'node:worker_threads';
import type {
  QuickJSContext,
  QuickJSDeferredPromise,
  QuickJSHandle,
  QuickJSRuntime,
} from 'quickjs-emscripten-core';
import { PRELUDE } from './prelude.ts';
import {
  type CodeError,
  type FromWorker,
  GUEST_FILE,
  type GuestFailure,
  type GuestLimits,
  type HostCallKind,
  type ToWorker,
} from './protocol.ts';
import {
  checkModule,
  compileQuickJS,
  type Dumped,
  dumpError,
  type Instance,
  MB,
  newInstance,
  newRuntime,
} from './quickjs.ts';

const MAX_LOG_CHARS = 4_096;
const MAX_SLEEP_MS = 60_000;
/** idle instances kept for reuse, per worker */
const SPARES = 4;

const port = parentPort!;
const send = (m: FromWorker) => port.postMessage(m);

interface Guest {
  id: number;
  instance: Instance;
  rt: QuickJSRuntime;
  vm: QuickJSContext;
  flag: Int32Array;
  limits: GuestLimits;
  cpuMs: number;
  sliceStart: number;
  hostCalls: number;
  nextCall: number;
  pending: Map<number, QuickJSDeferredPromise>;
  sleeps: Set<NodeJS.Timeout>;
  /** the promise (or value) the default export returned */
  result: QuickJSHandle | null;
  finish: QuickJSHandle | null;
  /** a host-side reason to stop that the guest cannot catch its way out of */
  fatal: GuestFailure | null;
  done: boolean;
  /** true: this guest hit its memory limit (the module's memory stays grown) */
  oom: boolean;
}

const guests = new Map<number, Guest>();
/** ids of guests dropped while their instance was being made */
const dropped = new Set<number>();
const spares: Instance[] = [];
const compiled = compileQuickJS();
async function instanceFor(memoryMb: number): Promise<Instance> {
  const i = spares.findIndex((s) => s.memoryMb === memoryMb);
  if (i >= 0) return spares.splice(i, 1)[0];
  return newInstance(compiled, memoryMb);
}

/** An instance back for reuse; one a guest filled up or broke is dropped (its memory with it). */
function release(instance: Instance, reusable: boolean) {
  if (!reusable) return;
  spares.push(instance);
  if (spares.length > SPARES) spares.shift();
}

function exceeded(g: Guest): boolean {
  return g.cpuMs + (performance.now() - g.sliceStart) > g.limits.cpu_ms;
}

/** Runs `fn` as a slice of the guest's CPU time. */
function slice<T>(g: Guest, fn: () => T): T {
  g.sliceStart = performance.now();
  try {
    return fn();
  } finally {
    g.cpuMs += performance.now() - g.sliceStart;
    g.sliceStart = Number.POSITIVE_INFINITY;
  }
}

/** What a guest failure was, in order of precedence: a host-side stop, then what the error says. */
function classify(g: Guest, err: Dumped): GuestFailure {
  if (g.fatal) return g.fatal;
  if (Atomics.load(g.flag, 0) !== 0) return { code: 'interrupted', message: 'Interrupted by the host' };
  const message = typeof err.message === 'string' ? err.message : String(err.message ?? 'Unknown error');
  const name = typeof err.name === 'string' ? err.name : 'Error';
  if (name === 'InternalError' && message === 'interrupted' && g.cpuMs >= g.limits.cpu_ms)
    return {
      code: 'cpu_limit_exceeded',
      message: `The agent's code used more than its CPU time limit of ${g.limits.cpu_ms} ms`,
    };
  // within a megabyte of its instance's maximum: what failed was an allocation
  const full = g.instance.memory.buffer.byteLength >= g.instance.maxBytes - MB;
  if ((name === 'InternalError' && message === 'out of memory') || (err.bare && full)) {
    g.oom = true;
    return {
      code: 'memory_limit_exceeded',
      message: `The agent's code used more than its memory limit of ${g.limits.memory_mb} MB`,
    };
  }
  const stack = typeof err.stack === 'string' ? err.stack : undefined;
  const failure: GuestFailure = { code: 'guest_error', message: `${name}: ${message}`.slice(0, 4_000) };
  if (stack) failure.stack = stack.slice(0, 8_000);
  if (typeof err.code === 'string' && err.code.length <= 100) failure.cause_code = err.code;
  return failure;
}

function end(g: Guest, outcome: { output?: string; failure?: GuestFailure }) {
  if (g.done) return;
  g.done = true;
  guests.delete(g.id);
  send({
    t: 'done',
    id: g.id,
    ...outcome,
    cpu_ms: Math.round(g.cpuMs),
    host_calls: g.hostCalls,
    ...(g.oom && { retire: true }),
  });
  dispose(g);
}

function dispose(g: Guest) {
  let clean = !g.oom;
  try {
    disposeHandles(g);
  } catch {
    clean = false; // the instance is broken (a WebAssembly abort): never reuse it
  }
  release(g.instance, clean);
}

function disposeHandles(g: Guest) {
  for (const t of g.sleeps) clearTimeout(t);
  g.sleeps.clear();
  for (const d of g.pending.values()) d.dispose();
  g.pending.clear();
  g.result?.dispose();
  g.finish?.dispose();
  g.result = g.finish = null;
  g.vm.dispose();
  g.rt.dispose();
}

/** Counts a host call; past the limit the guest is stopped (it cannot catch that). */
function count(g: Guest): boolean {
  g.hostCalls++;
  if (g.hostCalls <= g.limits.host_calls) return true;
  g.fatal ??= {
    code: 'host_call_limit_exceeded',
    message: `The agent's code made more than its limit of ${g.limits.host_calls} host calls (ctx.model, ctx.tools, ctx.log, ctx.sleep)`,
  };
  Atomics.store(g.flag, 0, 1);
  return false;
}

function hostError(vm: QuickJSContext, code: string, message: string): QuickJSHandle {
  const e = vm.newError({ name: 'HostError', message });
  vm.setProp(e, 'code', vm.newString(code));
  return e;
}

function installHost(g: Guest): [QuickJSHandle, QuickJSHandle, QuickJSHandle] {
  const { vm } = g;
  const call = vm.newFunction('hostCall', (kindH, payloadH) => {
    if (!count(g)) return { error: hostError(vm, 'host_call_limit_exceeded', g.fatal!.message) };
    const kind = vm.getString(kindH) as HostCallKind;
    const payload = vm.getString(payloadH);
    const id = g.nextCall++;
    const deferred = vm.newPromise();
    g.pending.set(id, deferred);
    send({ t: 'call', id: g.id, call: id, kind, payload });
    return deferred.handle;
  });
  const log = vm.newFunction('hostLog', (msgH) => {
    if (!count(g)) return { error: hostError(vm, 'host_call_limit_exceeded', g.fatal!.message) };
    const message = vm.getString(msgH);
    send({ t: 'log', id: g.id, level: 'info', message: message.slice(0, MAX_LOG_CHARS) });
    return vm.undefined;
  });
  const sleep = vm.newFunction('hostSleep', (msH) => {
    if (!count(g)) return { error: hostError(vm, 'host_call_limit_exceeded', g.fatal!.message) };
    const raw = vm.getNumber(msH);
    const ms = Number.isFinite(raw) ? Math.min(Math.max(0, raw), MAX_SLEEP_MS) : 0;
    const deferred = vm.newPromise();
    const id = g.nextCall++;
    g.pending.set(id, deferred);
    const timer = setTimeout(() => {
      g.sleeps.delete(timer);
      try {
        settle(g, id, vm.undefined, null);
      } catch (error) {
        crashed(g, error);
      }
    }, ms);
    g.sleeps.add(timer);
    return deferred.handle;
  });
  return [call, log, sleep];
}

/** Resolves or rejects one host call's guest promise, then lets the guest go on. */
function settle(g: Guest, callId: number, value: QuickJSHandle, error: QuickJSHandle | null) {
  const deferred = g.pending.get(callId);
  if (!deferred || g.done) return;
  g.pending.delete(callId);
  if (error) {
    deferred.reject(error);
    error.dispose();
  } else deferred.resolve(value);
  if (value !== g.vm.undefined) value.dispose();
  deferred.dispose();
  pump(g);
}

/** Runs the guest's pending jobs, then ends it if its result has settled. */
function pump(g: Guest) {
  if (g.done) return;
  const { vm, rt } = g;
  const ran = slice(g, () => rt.executePendingJobs());
  if (ran.error) {
    const err = dumpError(vm, ran.error);
    ran.error.dispose();
    return end(g, { failure: classify(g, err) });
  }
  if (g.fatal) return end(g, { failure: g.fatal });
  const state = vm.getPromiseState(g.result!);
  if (state.type === 'pending') {
    if (g.pending.size === 0)
      end(g, {
        failure: {
          code: 'guest_error',
          message:
            "The agent's function returned a promise that never settles (nothing it awaits is pending)",
        },
      });
    return;
  }
  if (state.type === 'rejected') {
    const err = dumpError(vm, state.error);
    state.error.dispose();
    return end(g, { failure: classify(g, err) });
  }
  const value = state.value;
  const out = slice(g, () => vm.callFunction(g.finish!, vm.undefined, value));
  if (!state.notAPromise) value.dispose();
  if (out.error) {
    const err = dumpError(vm, out.error);
    out.error.dispose();
    const failure = classify(g, err);
    if (failure.code === 'guest_error')
      return end(g, {
        failure: {
          code: 'invalid_output',
          message: `The output is not serialisable as JSON: ${failure.message}`,
        },
      });
    return end(g, { failure });
  }
  const text = vm.getString(out.value);
  out.value.dispose();
  const bytes = Buffer.byteLength(text);
  if (bytes > g.limits.output_bytes)
    return end(g, {
      failure: {
        code: 'output_too_large',
        message: `The output is ${bytes} bytes of JSON, over the limit of ${g.limits.output_bytes}`,
      },
    });
  end(g, { output: text });
}

async function start(m: Extract<ToWorker, { t: 'start' }>) {
  const instance = await instanceFor(m.limits.memory_mb);
  if (dropped.delete(m.id)) return release(instance, true);
  const flag = new Int32Array(m.flag);
  const holder = { g: null as Guest | null };
  const rt = newRuntime(instance.module, m.limits, flag, {
    cpu: () => (holder.g ? exceeded(holder.g) : false),
  });
  const vm = rt.newContext();
  const g: Guest = {
    id: m.id,
    instance,
    rt,
    vm,
    flag,
    limits: m.limits,
    cpuMs: 0,
    sliceStart: Number.POSITIVE_INFINITY,
    hostCalls: 0,
    nextCall: 1,
    pending: new Map(),
    sleeps: new Set(),
    result: null,
    finish: null,
    fatal: null,
    done: false,
    oom: false,
  };
  holder.g = g;
  guests.set(g.id, g);
  try {
    load(g, m);
  } catch (error) {
    crashed(g, error);
  }
}

/** The guest's instance failed under it (a WebAssembly abort): that guest fails, the worker goes on. */
function crashed(g: Guest, error: unknown) {
  if (!g.done) {
    g.done = true;
    guests.delete(g.id);
    send({
      t: 'done',
      id: g.id,
      failure: {
        code: 'host_error',
        message: `The sandbox failed running this agent's code (${error instanceof Error ? error.message.slice(0, 200) : 'unknown'}); resubmit the run`,
      },
      cpu_ms: Math.round(g.cpuMs),
      host_calls: g.hostCalls,
    });
  }
  try {
    disposeHandles(g);
  } catch {}
}

/** Prelude, ctx, the module, its default export called: the guest is then pumped by host replies. */
function load(g: Guest, m: Extract<ToWorker, { t: 'start' }>) {
  const { vm, rt } = g;
  const fail = (h: QuickJSHandle, prefix?: string) => {
    const err = dumpError(vm, h);
    h.dispose();
    const failure = classify(g, err);
    if (prefix && failure.code === 'guest_error') {
      failure.code = 'invalid_code';
      failure.message = `${prefix}: ${failure.message}`;
    }
    end(g, { failure });
  };
  const prelude = vm.evalCode(PRELUDE, 'airmy-prelude.js');
  if (prelude.error) return fail(prelude.error);
  const host = installHost(g);
  const inputH = vm.newString(m.input);
  const runH = vm.newString(m.run);
  const built = vm.callFunction(prelude.value, vm.undefined, ...host, inputH, runH);
  for (const h of [prelude.value, ...host, inputH, runH]) h.dispose();
  if (built.error) return fail(built.error);
  const ctxH = vm.getProp(built.value, 0);
  const guestInput = vm.getProp(built.value, 1);
  g.finish = vm.getProp(built.value, 2);
  built.value.dispose();
  const evaluated = slice(g, () => vm.evalCode(m.code, GUEST_FILE, { type: 'module' }));
  if (evaluated.error) {
    ctxH.dispose();
    guestInput.dispose();
    return fail(evaluated.error, 'The module failed to load');
  }
  // a module with top-level await evaluates to a promise of its namespace
  slice(g, () => rt.executePendingJobs());
  const nsState = vm.getPromiseState(evaluated.value);
  let ns: QuickJSHandle | null = null;
  if (nsState.type === 'fulfilled') ns = nsState.value;
  else if (nsState.type === 'rejected') {
    evaluated.value.dispose();
    ctxH.dispose();
    guestInput.dispose();
    return fail(nsState.error, 'The module failed to load');
  }
  const def = ns ? vm.getProp(ns, 'default') : vm.undefined;
  if (ns && ns !== evaluated.value) ns.dispose();
  evaluated.value.dispose();
  if (vm.typeof(def) !== 'function') {
    def.dispose();
    ctxH.dispose();
    guestInput.dispose();
    return end(g, {
      failure: {
        code: 'invalid_code',
        message: 'The module has no default export function: write `export default async (input, ctx) => …`',
      },
    });
  }
  const called = slice(g, () => vm.callFunction(def, vm.undefined, guestInput, ctxH));
  def.dispose();
  ctxH.dispose();
  guestInput.dispose();
  if (called.error) return fail(called.error);
  g.result = called.value;
  pump(g);
}

async function check(m: Extract<ToWorker, { t: 'check' }>): Promise<CodeError | undefined> {
  const instance = await instanceFor(m.limits.memory_mb);
  let clean = true;
  try {
    return checkModule(instance, m);
  } catch {
    clean = false;
    return { message: 'The sandbox failed loading this module', line: null, column: null };
  } finally {
    release(instance, clean);
  }
}

port.on('message', (m: ToWorker) => {
  switch (m.t) {
    case 'start':
      void start(m).catch((error) => {
        send({
          t: 'done',
          id: m.id,
          failure: {
            code: 'host_error',
            message: `The sandbox could not start (${error instanceof Error ? error.message.slice(0, 200) : 'unknown'})`,
          },
          cpu_ms: 0,
          host_calls: 0,
        });
      });
      return;
    case 'reply': {
      const g = guests.get(m.id);
      if (!g) return;
      try {
        const { vm } = g;
        if (m.error) settle(g, m.call, vm.undefined, hostError(vm, m.error.code, m.error.message));
        else settle(g, m.call, vm.newString(m.value ?? 'null'), null);
      } catch (error) {
        crashed(g, error);
      }
      return;
    }
    case 'drop': {
      const g = guests.get(m.id);
      if (!g) {
        dropped.add(m.id);
        return;
      }
      g.done = true;
      guests.delete(g.id);
      dispose(g);
      return;
    }
    case 'check':
      void check(m).then((error) => send({ t: 'checked', id: m.id, error }));
      return;
    default: {
      const never: never = m;
      throw new Error(`unknown message ${JSON.stringify(never)}`);
    }
  }
});

// one instance made up front: the first guest does not pay for it
release(await instanceFor(64), true);
send({ t: 'ready' });
