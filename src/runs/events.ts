/**
 * Run lifecycle events: the typed event map that SSE, the bus and the database share. Wire names
 * are dotted; every event carries `type` and a per-run `sequence_number` (the SSE id).
 */
export const RunStatuses = [
  'queued',
  'running',
  'completed',
  'failed',
  'cancelled',
  'timed_out',
  'expired',
] as const;
export type RunStatus = (typeof RunStatuses)[number];
export const TerminalStatuses: readonly RunStatus[] = [
  'completed',
  'failed',
  'cancelled',
  'timed_out',
  'expired',
];
export const isTerminal = (s: string) => (TerminalStatuses as readonly string[]).includes(s);

export type RunEventType =
  | 'run.created'
  | 'run.started'
  | 'run.output.delta'
  | 'run.tool_call'
  | 'run.tool_result'
  | 'run.log'
  | 'run.completed'
  | 'run.failed'
  | 'run.cancelled'
  | 'run.timed_out'
  | 'run.expired';

export interface RunEvent {
  type: RunEventType;
  sequence_number: number;
  run_id: string;
  created_at: string;
  /** run.output.delta */
  delta?: string;
  /** run.tool_call: the call the model made */
  tool_call?: { id: string; name: string; input: unknown };
  /** run.tool_result: how it ended (`output`, or `error` that the model saw) */
  tool_result?: {
    id: string;
    name: string;
    output?: unknown;
    error?: { code: string; message: string };
    duration_ms: number;
  };
  /** run.log: a code agent's ctx.log(...) */
  log?: { level: string; message: string };
  /** created and terminal events carry the run as it stands */
  run?: unknown;
}

export function terminalEventType(status: RunStatus): RunEventType {
  switch (status) {
    case 'completed':
      return 'run.completed';
    case 'failed':
      return 'run.failed';
    case 'cancelled':
      return 'run.cancelled';
    case 'timed_out':
      return 'run.timed_out';
    case 'expired':
      return 'run.expired';
    case 'queued':
    case 'running':
      throw new Error(`${status} is not terminal`);
  }
}

export const isTerminalEvent = (type: string) =>
  type !== 'run.created' &&
  type !== 'run.started' &&
  type !== 'run.output.delta' &&
  type !== 'run.tool_call' &&
  type !== 'run.tool_result' &&
  type !== 'run.log';

export const runTopic = (runId: string) => `run:${runId}`;
/** `{run_id}`: a cancel for whichever process executes the run (every executor subscribes, resources.ts) */
export const RUN_CANCEL_TOPIC = 'runs:cancel';
