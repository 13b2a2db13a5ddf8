/**
 * QuickJS in WebAssembly, the parts both a sandbox worker (worker.ts) and an API-only node's
 * compile check (compile-check.ts) use: one compiled WebAssembly.Module, instances with a memory
 * of their own capped at a guest's limit (worker.ts says why), runtimes with the guest's bounds,
 * and the module check (`checkModule`: compile, or compile and evaluate the top level).
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import variant from '@jitl/quickjs-wasmfile-release-sync';
import {
  newQuickJSWASMModuleFromVariant,
  newVariant,
  type QuickJSContext,
  type QuickJSHandle,
  type QuickJSSyncVariant,
  type QuickJSWASMModule,
} from 'quickjs-emscripten-core';
import { type CodeError, GUEST_FILE, type GuestLimits } from './protocol.ts';

/** QuickJS's own stack bound: below the thread's native stack (pool.ts sets stackSizeMb) so deep recursion is a guest error. */
export const GUEST_STACK_BYTES = 1024 * 1024;
export const MB = 1024 * 1024;
export const PAGE = 64 * 1024;
/** the module's own initial memory (static data, stack): a guest's limit comes on top */
export const BASE_PAGES = 256;

/** The little of the WebAssembly JS API used here (the project's `lib` has no DOM types). */
export interface WasmMemory {
  buffer: ArrayBuffer;
}
declare const WebAssembly: {
  Module: new (bytes: Uint8Array) => object;
  Memory: new (descriptor: { initial: number; maximum: number }) => WasmMemory;
};
type VariantOptions = Parameters<typeof newVariant>[1];

export interface Instance {
  module: QuickJSWASMModule;
  memoryMb: number;
  memory: WasmMemory;
  maxBytes: number;
}

// the package's types are CommonJS-shaped; under `import` its default export is the variant itself
const base = variant as unknown as QuickJSSyncVariant;

/** The QuickJS WebAssembly module, compiled (tens of ms): once per thread, then instantiated per guest. */
export function compileQuickJS(): object {
  return new WebAssembly.Module(
    readFileSync(createRequire(import.meta.url).resolve('@jitl/quickjs-wasmfile-release-sync/wasm')),
  );
}

/** A fresh instance of `compiled` (~1.5 ms) whose memory stops at `memoryMb` past the module's own. */
export async function newInstance(compiled: object, memoryMb: number): Promise<Instance> {
  const maximum = BASE_PAGES + Math.ceil((memoryMb * MB) / PAGE);
  const wasmMemory = new WebAssembly.Memory({ initial: BASE_PAGES, maximum });
  const options = { wasmModule: compiled, wasmMemory } as unknown as VariantOptions;
  const module = await newQuickJSWASMModuleFromVariant(newVariant(base, options));
  return { module, memoryMb, memory: wasmMemory, maxBytes: maximum * PAGE };
}

export function newRuntime(
  module: QuickJSWASMModule,
  limits: GuestLimits,
  flag: Int32Array | null,
  g: { cpu: () => boolean },
) {
  const rt = module.newRuntime();
  rt.setMemoryLimit(limits.memory_mb * MB);
  rt.setMaxStackSize(GUEST_STACK_BYTES);
  rt.setInterruptHandler(() => (flag !== null && Atomics.load(flag, 0) !== 0) || g.cpu());
  return rt;
}

export interface Dumped {
  name?: unknown;
  message?: unknown;
  stack?: unknown;
  code?: unknown;
  lineNumber?: unknown;
  /** the guest threw something that is not an object (QuickJS throws null when it cannot even allocate the error) */
  bare?: boolean;
}

export function dumpError(vm: QuickJSContext, handle: QuickJSHandle): Dumped {
  try {
    const v = vm.dump(handle) as unknown;
    if (v !== null && typeof v === 'object') return v as Dumped;
    return { message: String(v), bare: true };
  } catch {
    return { message: 'The agent threw a value that cannot be shown' };
  }
}

const LOCATION = new RegExp(`${GUEST_FILE.replace('.', '\\.')}:(\\d+)(?::(\\d+))?`);

export function checkModule(
  instance: Instance,
  m: { code: string; evaluate: boolean; limits: GuestLimits },
): CodeError | undefined {
  let cpuMs = 0;
  let sliceStart = Number.POSITIVE_INFINITY;
  const rt = newRuntime(instance.module, m.limits, null, {
    cpu: () => cpuMs + performance.now() - sliceStart > m.limits.cpu_ms,
  });
  const vm = rt.newContext();
  try {
    sliceStart = performance.now();
    const r = vm.evalCode(m.code, GUEST_FILE, { type: 'module', compileOnly: !m.evaluate });
    cpuMs += performance.now() - sliceStart;
    sliceStart = Number.POSITIVE_INFINITY;
    // quickjs-emscripten 0.32 hands a compiled-only module back through `error` for some modules
    // (a module record is no JS value); a real compile error is always an error object
    if (r.error && !m.evaluate && vm.typeof(r.error) === 'undefined') {
      r.error.dispose();
      return undefined;
    }
    if (r.error) {
      const err = dumpError(vm, r.error);
      r.error.dispose();
      const stack = typeof err.stack === 'string' ? err.stack : '';
      const at = LOCATION.exec(stack);
      const line = at ? Number(at[1]) : typeof err.lineNumber === 'number' ? err.lineNumber : null;
      const column = at?.[2] ? Number(at[2]) : null;
      const name = typeof err.name === 'string' ? err.name : 'Error';
      return { message: `${name}: ${String(err.message)}`.slice(0, 1_000), line, column };
    }
    if (!m.evaluate) {
      r.value.dispose();
      return undefined;
    }
    rt.executePendingJobs();
    const state = vm.getPromiseState(r.value);
    let ok = false;
    if (state.type === 'fulfilled') {
      const def = vm.getProp(state.value, 'default');
      ok = vm.typeof(def) === 'function';
      def.dispose();
      if (!state.notAPromise) state.value.dispose();
    } else if (state.type === 'rejected') state.error.dispose();
    r.value.dispose();
    if (!ok)
      return {
        message: 'The module has no default export function: write `export default async (input, ctx) => …`',
        line: null,
        column: null,
      };
    return undefined;
  } finally {
    vm.dispose();
    rt.dispose();
  }
}
