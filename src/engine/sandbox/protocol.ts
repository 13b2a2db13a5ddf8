/**
 * The messages between the sandbox pool (main thread) and a sandbox worker. Every value that
 * crosses is a JSON string or a plain number: the guest never holds a host object, and the host
 * never holds a guest one.
 */

/** The per-run limits a guest runs under (resolved from the agent's `code_limits`, limits.ts). */
export interface GuestLimits {
  memory_mb: number;
  cpu_ms: number;
  output_bytes: number;
  host_calls: number;
}

/** Host calls a guest can make that the main thread answers (sleep and log stay in the worker / are one-way). */
export type HostCallKind = 'model.generate' | 'model.stream' | 'tools.call';

/** Why a guest ended without an output. */
export interface GuestFailure {
  code:
    | 'guest_error'
    | 'invalid_code'
    | 'invalid_output'
    | 'output_too_large'
    | 'memory_limit_exceeded'
    | 'cpu_limit_exceeded'
    | 'host_call_limit_exceeded'
    | 'interrupted'
    | 'host_error';
  message: string;
  stack?: string;
  /** a host call's error that the guest let through (e.g. guardrail_blocked): the run fails with it */
  cause_code?: string;
}

export type ToWorker =
  | {
      t: 'start';
      id: number;
      code: string;
      input: string;
      run: string;
      limits: GuestLimits;
      /** Int32Array(1) over it: non-zero = interrupt now (cancel, wall time) */
      flag: SharedArrayBuffer;
    }
  | { t: 'reply'; id: number; call: number; value?: string; error?: { code: string; message: string } }
  | { t: 'drop'; id: number }
  | { t: 'check'; id: number; code: string; evaluate: boolean; limits: GuestLimits };

export type FromWorker =
  | { t: 'ready' }
  | { t: 'call'; id: number; call: number; kind: HostCallKind; payload: string }
  | { t: 'log'; id: number; level: string; message: string }
  | {
      t: 'done';
      id: number;
      output?: string;
      failure?: GuestFailure;
      cpu_ms: number;
      host_calls: number;
      /** the guest filled its instance's memory: stop using this worker once idle (pool.ts) */
      retire?: boolean;
    }
  | { t: 'checked'; id: number; error?: CodeError };

/** A module that does not compile (or, evaluated, has no default export function). */
export interface CodeError {
  message: string;
  line: number | null;
  column: number | null;
}

/** The guest module's file name in stack traces: `at handler (agent.js:3:13)`. */
export const GUEST_FILE = 'agent.js';
