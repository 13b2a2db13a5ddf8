/**
 * Writes the server's OpenAPI document (what `GET /v2/openapi.json` serves) to a file, default
 * `sdk/openapi.json`: the one input every SDK generator reads. It builds the real app over a
 * throwaway SQLite data dir, so the document is exactly the one the routes produce.
 *   npm run openapi:dump [-- <out-file>]
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseConfig } from '../src/config.ts';
import { buildApp } from '../src/http/app.ts';
import { buildResources } from '../src/resources.ts';

const out = path.resolve(process.argv[2] ?? path.join(import.meta.dirname, '../sdk/openapi.json'));
const dir = mkdtempSync(path.join(tmpdir(), 'airmy-openapi-'));
try {
  const resources = await buildResources(parseConfig({ AIRMY_DATA_DIR: dir, AIRMY_DEMO: '0' }));
  const app = await buildApp(resources, { logger: false, https: null });
  await app.ready();
  const res = await app.inject({ url: '/v2/openapi.json' });
  if (res.statusCode !== 200) throw new Error(`GET /v2/openapi.json answered ${res.statusCode}`);
  writeFileSync(out, `${JSON.stringify(res.json(), null, 2)}\n`);
  await app.close();
  await resources.close();
  process.stdout.write(`wrote ${path.relative(process.cwd(), out)}\n`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
