import { followEvents, type SseStream } from '../http/sse.ts';
import { type DeploymentEvent, type DeploymentService, isFinalDeploymentStatus } from './service.ts';

/**
 * Streams a deployment's log after `afterSeq` (see followEvents). The stream ends at a final status
 * (failed, superseded, rolled back); an active deployment keeps streaming its runtime lines, unless
 * `follow` is false, which ends right after the replay.
 */
export function followDeployment(
  stream: SseStream,
  deployments: DeploymentService,
  orgId: string,
  id: string,
  afterSeq: number,
  follow: boolean,
) {
  return followEvents<DeploymentEvent>(
    stream,
    {
      subscribe: (listener, onResync) => deployments.subscribe(id, listener, onResync),
      ready: () => deployments.ready(id),
      replay: async (after) => {
        const { events, status } = await deployments.eventsAfter(orgId, id, after);
        return { events, done: !follow || isFinalDeploymentStatus(status) };
      },
      isLast: (e) => e.type === 'deployment.status' && !!e.status && isFinalDeploymentStatus(e.status),
    },
    afterSeq,
  );
}
