/** The /v2 objects the pages show (the fields they use; docs/*.md has the whole shapes). */
export interface Agent {
  id: string;
  name: string;
  description: string | null;
  model: string | null;
  instructions: string | null;
  parameters: Record<string, unknown>;
  tools: string[];
  guardrails: string | null;
  metadata: Record<string, string>;
  version: number;
  created_at: string;
  updated_at: string;
}

export interface Run {
  id: string;
  agent_id: string;
  deployment_id: string | null;
  status: string;
  model: string | null;
  input: unknown;
  output: unknown;
  error: { code: string; message: string; stack?: string } | null;
  latency_ms: number | null;
  tokens_used: number;
  usage: { input_tokens: number; output_tokens: number };
  metadata: Record<string, string>;
  pipeline_run_id: string | null;
  step_id: string | null;
  tool_calls: {
    id: string;
    name: string;
    input: unknown;
    output?: unknown;
    error?: { code: string; message: string };
    duration_ms: number;
  }[];
  guardrails: { rule: string; action: 'block' | 'redact' | 'flag'; count: number }[];
  created_at: string;
  started_at: string | null;
  completed_at: string | null;
}

export interface Deployment {
  id: string;
  agent_id: string;
  environment: string;
  version: number;
  status: string;
  config: { name: string; model: string; instructions: string | null; agent_version: number };
  previous_deployment_id: string | null;
  description: string | null;
  created_at: string;
  activated_at: string | null;
  failed_reason: string | null;
  /** set while (and after) a canary rollout: the candidate's share of the environment's runs */
  canary?: { step: number; traffic_percent: number } | null;
}

export const TERMINAL_RUN = new Set(['completed', 'failed', 'cancelled', 'timed_out', 'expired']);

export const RUN_STATUSES = ['queued', 'running', 'completed', 'failed', 'cancelled', 'timed_out', 'expired'];
