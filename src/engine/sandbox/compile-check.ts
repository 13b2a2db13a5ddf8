/**
 * The compile check of an API-only node (`airmy serve --no-worker`): in cluster mode guests run on
 * workers, never on API nodes, so such a node starts no sandbox pool. It still answers a module
 * that does not compile with `422 invalid_code` when an agent is written: here it only parses the
 * module (`compileOnly`: no line of it runs, its top level included; evaluating it is deployment
 * validation's, on a worker), on this thread, in a QuickJS instance capped at the guest memory
 * limit and interrupted past the CPU limit. Parsing the largest module an agent may carry takes
 * milliseconds; the WebAssembly module is compiled on the first check, and one instance is kept.
 */
import type { CodeError, GuestLimits } from './protocol.ts';
import { checkModule, compileQuickJS, type Instance, newInstance } from './quickjs.ts';

export function createCompileCheck() {
  let compiled: object | null = null;
  let spare: Instance | null = null;
  return async (code: string, limits: GuestLimits): Promise<CodeError | null> => {
    compiled ??= compileQuickJS();
    const instance =
      spare?.memoryMb === limits.memory_mb ? spare : await newInstance(compiled, limits.memory_mb);
    spare = null;
    try {
      const error = checkModule(instance, { code, evaluate: false, limits }) ?? null;
      spare = instance;
      return error;
    } catch {
      // the instance broke (a WebAssembly abort): dropped, the next check makes a new one
      return { message: 'The sandbox failed loading this module', line: null, column: null };
    }
  };
}
