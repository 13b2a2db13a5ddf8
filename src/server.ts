/**
 * Starting and stopping the server process: TLS material, the app, the optional plain listener,
 * and a graceful stop on SIGTERM/SIGINT that drains in-flight work up to a bound.
 *
 * Roles (docs/cluster.md): `airmy serve` is the API and a worker in one process; `serve
 * --no-worker` (`worker: false`) is the API alone — its runs are stored queued and executed by the
 * workers, its sync callers and streams are answered from the bus and the database; `airmy
 * worker` (`startWorker`) executes jobs and listens on nothing but the optional health port.
 */
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import { DEMO_API_KEY } from './auth/secrets.ts';
import { type Config, checkRole } from './config.ts';
import { buildApp } from './http/app.ts';
import { createHealthServer } from './http/health.ts';
import { createPlainServer, loadOrCreateTls } from './http/https.ts';
import { buildResources } from './resources.ts';

/** After the workers stopped: how long the last answers (202s, stream ends) may take to be written */
const ANSWER_MS = 3_000;

export function createLogger(config: Config) {
  return pino({
    level: config.logLevel,
    // Credentials never reach the log, whatever a future serializer decides to include.
    redact: {
      paths: ['req.headers.authorization', 'req.headers.cookie', '*.secret', '*.token'],
      censor: '[redacted]',
    },
  });
}

export async function startServer(config: Config, options: { worker?: boolean } = {}) {
  const worker = options.worker ?? true;
  checkRole(config, worker ? 'all' : 'api');
  const logger = createLogger(config);
  const tls = await loadOrCreateTls({
    dataDir: config.dataDir,
    certFile: config.tlsCert,
    keyFile: config.tlsKey,
  });
  const resources = await buildResources(config, { logger });
  const app = await buildApp(resources, {
    logger,
    https: { key: tls.key, cert: tls.cert },
    trustProxy: config.trustProxy,
  });
  await resources.start({ worker });
  await app.listen({ host: config.host, port: config.port });
  const { port } = app.server.address() as AddressInfo;
  const host = config.host.includes(':') ? `[${config.host}]` : config.host;

  let plain: ReturnType<typeof createPlainServer> | null = null;
  if (config.httpPort !== null) {
    plain = createPlainServer(app, config.trustProxy, () => resources.ids('req'));
    await new Promise<void>((resolve) => plain!.listen(config.httpPort!, config.host, resolve));
  }

  const lines = [
    '',
    `  AIRMY is listening: https://${host}:${port}/v2`,
    `  Trust this CA:      ${tls.caFile}${tls.generated ? '   (self-signed, generated now)' : ''}`,
    `  Database:           ${config.databaseUrl.startsWith('sqlite:') ? config.databaseUrl : 'postgres'}`,
    ...(config.cluster
      ? [`  Cluster mode:       ${worker ? 'API + worker' : 'API only (--no-worker)'}`]
      : []),
    ...(config.demo ? [`  Demo API key:       ${DEMO_API_KEY}   (demo plan; not for production)`] : []),
    `  API docs:           https://${host}:${port}/docs`,
    `  Dashboard:          https://${host}:${port}/`,
    '',
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
  if (config.demo && config.env === 'production') {
    logger.warn('AIRMY_DEMO=1 in production: the public demo key is active');
  }

  // Graceful stop (src/lifecycle.ts): every caller waiting gets an HTTP answer before the exit.
  let stopping: Promise<void> | null = null;
  const stop = () => {
    stopping ??= (async () => {
      logger.info('stopping: draining in-flight work');
      // Every request that reaches us meanwhile, on a new connection or a kept-alive one, is answered
      // 503 + Retry-After (a load balancer sends it elsewhere): the listener stays open until the
      // release, so no client meets a refused or reset connection while the runs drain.
      resources.lifecycle.drain();
      // Workers finish their runs within the grace period (those still going then end
      // server_shutdown); their sync callers and streams are answered by the terminal events.
      await resources.stop();
      // Everyone still waiting (runs that never started) is answered with the run as it stands,
      // open streams end cleanly; then the connections close behind their answers.
      resources.lifecycle.release();
      plain?.close();
      const closing = app.close();
      const closed = closing.then(() => true);
      const deadline = Date.now() + ANSWER_MS;
      // each answer closes its connection behind it; idle ones are closed as they turn idle
      while (Date.now() < deadline) {
        app.server.closeIdleConnections();
        if (await Promise.race([closed, new Promise((r) => setTimeout(r, 50, false))])) break;
      }
      app.server.closeAllConnections();
      await closing;
      await resources.close();
    })();
    return stopping;
  };
  return { app, resources, port, stop, caFile: tls.caFile };
}

/**
 * `airmy worker`: the job pools, the lease and the periodic work, no API listener. SIGTERM stops
 * taking jobs, lets the ones in flight finish within the grace period (as `serve` does), then exits.
 */
export async function startWorker(config: Config) {
  checkRole(config, 'worker');
  const logger = createLogger(config);
  const resources = await buildResources(config);
  let started = false;
  const health = config.healthPort === null ? null : createHealthServer(resources, () => started);
  let healthPort: number | null = null;
  if (health) {
    await new Promise<void>((resolve) => health.listen(config.healthPort!, config.host, resolve));
    healthPort = (health.address() as AddressInfo).port;
  }
  await resources.start({ worker: true });
  started = true;
  const host = config.host.includes(':') ? `[${config.host}]` : config.host;
  const lines = [
    '',
    `  AIRMY worker is running: ${resources.nodes.id} (concurrency ${config.workerConcurrency})`,
    ...(healthPort !== null ? [`  Health:             http://${host}:${healthPort}/readyz`] : []),
    '',
  ];
  process.stdout.write(`${lines.join('\n')}\n`);

  let stopping: Promise<void> | null = null;
  const stop = () => {
    stopping ??= (async () => {
      logger.info('stopping: draining in-flight jobs');
      resources.lifecycle.drain();
      await resources.stop();
      resources.lifecycle.release();
      await new Promise((r) => (health ? health.close(r) : r(undefined)));
      await resources.close();
    })();
    return stopping;
  };
  return { resources, healthPort, stop };
}
