import type { SseStream } from '../http/sse.ts';
import { type DeploymentEvent, type DeploymentService, isFinalDeploymentStatus } from './service.ts';

/**
 * Streams a deployment's log after `afterSeq`: subscribe first (so nothing published meanwhile is
 * lost), replay what is stored, then pass live lines through in order, dropping any already sent.
 * The stream ends at a final status (failed, superseded, rolled back); an active deployment keeps
 * streaming its runtime lines, unless `follow` is false, which ends right after the replay.
 * Resolves when the stream ends (final status, no follow, or client gone).
 */
export async function followDeployment(
  stream: SseStream,
  deployments: DeploymentService,
  orgId: string,
  id: string,
  afterSeq: number,
  follow: boolean,
) {
  let last = afterSeq;
  let finish!: () => void;
  const ended = new Promise<void>((r) => {
    finish = r;
  });
  const stop = () => {
    stream.end();
    finish();
  };
  const early: DeploymentEvent[] = [];
  let replaying = true;
  const deliver = (e: DeploymentEvent) => {
    if (e.sequence_number <= last || stream.closed) return;
    last = e.sequence_number;
    stream.send(e);
    if (e.type === 'deployment.status' && e.status && isFinalDeploymentStatus(e.status)) stop();
  };
  const unsubscribe = deployments.subscribe(id, (e) => (replaying ? early.push(e) : deliver(e)));
  stream.onClose(() => {
    unsubscribe();
    finish();
  });
  try {
    const { events, status } = await deployments.eventsAfter(orgId, id, afterSeq);
    for (const e of events) deliver(e);
    replaying = false;
    for (const e of early.sort((a, b) => a.sequence_number - b.sequence_number)) deliver(e);
    if (!stream.closed && (!follow || isFinalDeploymentStatus(status))) stop();
  } catch (err) {
    stream.error('internal_error', 'The log stream failed');
    throw err;
  }
  await ended;
  unsubscribe();
}
