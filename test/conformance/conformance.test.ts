/**
 * The gateway conformance suite (conformance/) against the real server, twice: directly on its TLS
 * port (with the demo key, as the suite defaults to), and through Debian's nginx terminating TLS in
 * front of its plain port with AIRMY_TRUST_PROXY=127.0.0.1 (with a key of an organization made by
 * the CLI, and nginx's plain listener probed too). Both runs must pass the same cases: the edge
 * changes nothing. nginx missing → the proxied run is skipped with a message, unless CI is set.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { defineConformance } from '../../conformance/suite.ts';
import { type ChildServer, startChildServer } from '../support/child-server.ts';
import { findNginx, freePort, type Nginx, startNginx } from '../support/nginx.ts';

const exec = promisify(execFile);
const ROOT = path.resolve(import.meta.dirname, '../..');
const MAIN = path.join(ROOT, 'src/main.ts');
const RUN = path.join(ROOT, 'conformance/run.ts');

describe('gateway conformance', () => {
  let dir: string;
  let server: ChildServer;
  let nginx: Nginx | undefined;
  let key: string;
  const nginxBinary = findNginx();

  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'airmy-conformance-'));
    const env = { AIRMY_DATA_DIR: dir, PATH: process.env.PATH ?? '' };
    const airmy = async (...args: string[]) =>
      (await exec(process.execPath, [MAIN, ...args], { env })).stdout.trim();
    const org = await airmy('orgs', 'create', '--name', 'conformance behind nginx', '--plan', 'free');
    key = await airmy('keys', 'create', '--org', org);
    const httpPort = await freePort();
    server = await startChildServer(
      { AIRMY_DATA_DIR: dir, AIRMY_HTTP_PORT: String(httpPort), AIRMY_TRUST_PROXY: '127.0.0.1' },
      90_000, // a loaded machine can be slow to start one
    );
    if (nginxBinary) {
      nginx = await startNginx(nginxBinary, {
        upstream: httpPort,
        cert: path.join(dir, 'tls/ca.pem'),
        key: path.join(dir, 'tls/key.pem'),
      });
    } else if (process.env.CI) {
      throw new Error('nginx is not installed, and CI must run the proxied conformance suite');
    }
  });
  after(async () => {
    await nginx?.stop();
    await server?.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  });

  defineConformance('directly against the server (demo key)', () => ({
    baseUrl: `https://127.0.0.1:${server.port}/v2`,
    ca: server.ca,
  }));

  describe('through nginx terminating TLS, AIRMY_TRUST_PROXY=127.0.0.1', () => {
    if (!nginxBinary) {
      test('nginx is not installed', (t) => t.skip('apt-get install -y nginx to run the proxied suite'));
      return;
    }
    defineConformance('nginx in front', () => ({
      baseUrl: `https://127.0.0.1:${nginx!.tlsPort}/v2`,
      ca: readFileSync(path.join(dir, 'tls/ca.pem'), 'utf8'),
      key,
      httpUrl: `http://127.0.0.1:${nginx!.plainPort}/v2`,
    }));
  });

  test('the command line: --help prints usage; no --base-url is exit 2 with the usage', async () => {
    const help = await exec(process.execPath, [RUN, '--help']);
    assert.match(help.stdout, /--base-url https:\/\/host:port\/v2/);
    const missing = await exec(process.execPath, [RUN]).then(
      () => assert.fail('exit 0 without --base-url'),
      (err: { code: number; stderr: string }) => err,
    );
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /--base-url https:\/\/… is required/);
  });
});
