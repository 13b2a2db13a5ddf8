/**
 * A real server process for the kill -9 case: the app and resources `airmy serve` builds, from the
 * environment, plus one test-only route that fails with a bug; plain HTTP on a free loopback port,
 * printed as `listening <port>`. ERROR_REPORTS_PG_SCHEMA: the Postgres schema to work in.
 */
import type { AddressInfo } from 'node:net';
import { parseConfig } from '../../src/config.ts';
import { buildApp } from '../../src/http/app.ts';
import { buildResources } from '../../src/resources.ts';

const config = parseConfig(process.env);
const schema = process.env.ERROR_REPORTS_PG_SCHEMA;
const resources = await buildResources(config, { db: schema ? { schema, poolSize: 2 } : undefined });
const app = await buildApp(resources, { logger: false });
app.get('/test/crash-me', { config: { public: true } }, async () => {
  throw new RangeError('a bug right before the crash');
});
await app.ready();
await resources.start();
await app.listen({ host: '127.0.0.1', port: 0 });
process.stdout.write(`listening ${(app.server.address() as AddressInfo).port}\n`);
