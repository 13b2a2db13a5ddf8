import type { SseStream } from '../http/sse.ts';
import { isTerminalEvent, type RunEvent } from './events.ts';
import type { RunService } from './service.ts';

/**
 * Streams a run's events after `afterSeq` until its terminal event: subscribe first (so nothing
 * published meanwhile is lost), replay what is stored, then pass live events through in order,
 * dropping any already sent. Resolves when the stream ends (terminal event or client gone).
 */
export async function followRun(
  stream: SseStream,
  runs: RunService,
  orgId: string,
  runId: string,
  afterSeq: number,
) {
  let last = afterSeq;
  let finish!: () => void;
  const ended = new Promise<void>((r) => {
    finish = r;
  });
  const early: RunEvent[] = [];
  let replaying = true;
  const deliver = (e: RunEvent) => {
    if (e.sequence_number <= last) return;
    last = e.sequence_number;
    stream.send(e);
    if (isTerminalEvent(e.type)) {
      stream.end();
      finish();
    }
  };
  const unsubscribe = runs.subscribe(runId, (e) => (replaying ? early.push(e) : deliver(e)));
  stream.onClose(() => {
    unsubscribe();
    finish();
  });
  try {
    const { events, terminal } = await runs.eventsAfter(orgId, runId, afterSeq);
    for (const e of events) deliver(e);
    replaying = false;
    for (const e of early.sort((a, b) => a.sequence_number - b.sequence_number)) deliver(e);
    // resumed after the terminal event: nothing more will come
    if (terminal && !stream.closed) {
      stream.end();
      finish();
    }
  } catch (err) {
    stream.error('internal_error', 'The event stream failed');
    throw err;
  }
  await ended;
  unsubscribe();
}
