import { followEvents, type SseStream } from '../http/sse.ts';
import { isTerminalEvent, type RunEvent } from './events.ts';
import type { RunService } from './service.ts';

/** Streams a run's events after `afterSeq` until its terminal event (see followEvents). */
export function followRun(
  stream: SseStream,
  runs: RunService,
  orgId: string,
  runId: string,
  afterSeq: number,
) {
  return followEvents<RunEvent>(
    stream,
    {
      subscribe: (listener, onResync) => runs.subscribe(runId, listener, onResync),
      ready: () => runs.ready(runId),
      replay: async (after) => {
        const { events, terminal } = await runs.eventsAfter(orgId, runId, after);
        return { events, done: terminal };
      },
      isLast: (e) => isTerminalEvent(e.type),
      contiguous: true,
      pollMs: runs.backstopMs,
    },
    afterSeq,
  );
}
