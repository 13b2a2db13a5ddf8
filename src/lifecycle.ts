/**
 * The process's shutdown, as the request path sees it (src/server.ts drives it):
 *
 *   serving ──SIGTERM──▶ draining ──workers stopped──▶ released ──answers written──▶ exit
 *
 * - draining: a request that arrives now is answered `503 server_shutting_down` with `Retry-After`
 *   and `Connection: close` (http/app.ts); requests already in progress go on; every answer closes
 *   its keep-alive connection behind it.
 * - released (after the workers finished their runs or the grace period ended them): a sync
 *   caller still waiting is answered at once with its run as it stands (`202`, or `200` if it
 *   ended), an SSE stream still open is ended cleanly after its last event, to be resumed with
 *   `Last-Event-ID` on the next process.
 * The state is per process on purpose: it says what this process still answers, not what a run
 * is (that is in the database, for every node).
 */
export function createLifecycle() {
  let draining = false;
  const released = new AbortController();
  return {
    get draining() {
      return draining;
    },
    /** aborted once the workers stopped: waiters answer with what stands, streams end */
    released: released.signal,
    drain() {
      draining = true;
    },
    release() {
      draining = true;
      released.abort();
    },
  };
}
export type Lifecycle = ReturnType<typeof createLifecycle>;
