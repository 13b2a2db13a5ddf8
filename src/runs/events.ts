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
  type !== 'run.created' && type !== 'run.started' && type !== 'run.output.delta';

export const runTopic = (runId: string) => `run:${runId}`;
