/**
 * A code agent's per-run limits: its `code_limits` (each optional), else the defaults, never past
 * the organization-wide maxima the operator configured (AIRMY_SANDBOX_MAX_*). Checked when the
 * agent is written (422 naming the field) and applied again when a run starts, so lowering a
 * maximum takes effect for agents written before.
 */
import type { SandboxConfig } from '../../config.ts';
import type { GuestLimits } from './protocol.ts';

/** What an agent may set; wall time is the run's `timeout_ms`. */
export interface CodeLimits {
  memory_mb?: number;
  cpu_ms?: number;
  output_bytes?: number;
  host_calls?: number;
}

export const DEFAULT_LIMITS: GuestLimits = {
  memory_mb: 64,
  cpu_ms: 10_000,
  output_bytes: 1024 * 1024,
  host_calls: 1_000,
};

export function maxima(config: SandboxConfig): GuestLimits {
  return {
    memory_mb: config.maxMemoryMb,
    cpu_ms: config.maxCpuMs,
    output_bytes: config.maxOutputBytes,
    host_calls: config.maxHostCalls,
  };
}

/** The first field of `limits` over its maximum, as [field, its maximum]; null when all fit. */
export function overMaximum(limits: CodeLimits, config: SandboxConfig): [keyof GuestLimits, number] | null {
  const max = maxima(config);
  for (const key of Object.keys(max) as (keyof GuestLimits)[]) {
    const v = limits[key];
    if (v !== undefined && v > max[key]) return [key, max[key]];
  }
  return null;
}

export function resolveLimits(limits: CodeLimits | null | undefined, config: SandboxConfig): GuestLimits {
  const max = maxima(config);
  const out = { ...DEFAULT_LIMITS };
  for (const key of Object.keys(out) as (keyof GuestLimits)[])
    out[key] = Math.min(limits?.[key] ?? DEFAULT_LIMITS[key], max[key]);
  return out;
}
