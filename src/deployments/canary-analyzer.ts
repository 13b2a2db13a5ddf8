/**
 * The canary analyzer's timer: every AIRMY_CANARY_CHECK_MS a worker claims the `canary` tick (once
 * per cluster, infra/queue/ticks.ts; embedded, the one process always wins it) and analyzes every
 * canary whose interval has passed (DeploymentService.analyzeDue). When a canary is due is stored on
 * its row, so a crash or a restart loses nothing: the next tick after it, on any node, analyzes it.
 * `tick()` is one pass (tests call it with a fake clock); passes never overlap.
 */
export interface CanaryAnalyzerDeps {
  analyzeDue: () => Promise<void>;
  intervalMs: number;
  claimTick?: (name: string, intervalMs: number) => Promise<boolean>;
  onError?: (err: unknown) => void;
}

export function createCanaryAnalyzer(deps: CanaryAnalyzerDeps) {
  let chain: Promise<void> = Promise.resolve();
  let timer: NodeJS.Timeout | undefined;
  const tick = (): Promise<void> => {
    const next = chain.then(deps.analyzeDue, deps.analyzeDue);
    chain = next.catch(() => {});
    return next;
  };
  return {
    tick,
    start() {
      if (timer) return;
      timer = setInterval(() => {
        const claimed = deps.claimTick ? deps.claimTick('canary', deps.intervalMs) : Promise.resolve(true);
        void claimed.then((mine) => (mine ? tick() : undefined)).catch((err) => deps.onError?.(err));
      }, deps.intervalMs);
      timer.unref();
    },
    async stop() {
      clearInterval(timer);
      timer = undefined;
      await chain;
    },
  };
}
export type CanaryAnalyzer = ReturnType<typeof createCanaryAnalyzer>;
