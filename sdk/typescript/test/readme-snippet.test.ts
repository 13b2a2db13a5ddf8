/**
 * README.md's TypeScript snippet (the `<!-- sdk-snippet:typescript -->` block), extracted and run
 * as it stands against a live server, from a directory holding the server's `.airmy/` as the README
 * says; and the SDK compiled for Node 20 (tsconfig.build.json) making a real call on the system's
 * Node when that is older than the one that strips types.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { type LiveServer, REPO, startLiveServer } from './live-server.ts';

const exec = promisify(execFile);

function snippet(): string {
  const readme = readFileSync(path.join(REPO, 'README.md'), 'utf8');
  const m =
    /<!-- sdk-snippet:typescript -->\s*```(?:ts|typescript)\n([\s\S]*?)```\s*<!-- \/sdk-snippet -->/.exec(
      readme,
    );
  assert.ok(m, 'README.md has a <!-- sdk-snippet:typescript --> block');
  return m[1];
}

describe('the TypeScript SDK as a reader meets it', () => {
  let server: LiveServer;
  let home: string;

  before(async () => {
    home = mkdtempSync(path.join(tmpdir(), 'airmy-snippet-'));
    // the server's data dir is <home>/.airmy, so '.airmy/tls/ca.pem' resolves from <home>
    server = await startLiveServer('sqlite', { AIRMY_DATA_DIR: path.join(home, '.airmy') });
    symlinkSync(path.join(REPO, 'sdk'), path.join(home, 'sdk'));
  });
  after(async () => {
    await server?.stop();
    if (home) rmSync(home, { recursive: true, force: true });
  });

  test("README's snippet runs as pasted: an agent, a sync run, a streamed run, every agent", async () => {
    const file = path.join(home, 'snippet.mts');
    writeFileSync(file, snippet());
    const { stdout } = await exec(process.execPath, [file], {
      cwd: home,
      env: { PATH: process.env.PATH ?? '', AIRMY_API_KEY: server.key, AIRMY_BASE_URL: server.baseURL },
    });
    assert.match(stdout, /run_\S+ completed/);
    assert.match(stdout, /Mock answer to "Stream it"/, 'the streamed answer was printed');
    assert.match(stdout, /ag_\S+ Support triage/);
  });

  test('compiled for Node 20, the SDK makes a real call on an older Node', {
    skip: !existsSync('/usr/bin/node'),
  }, async () => {
    const { stdout: version } = await exec('/usr/bin/node', ['-v']);
    const major = Number(/^v(\d+)/.exec(version)![1]);
    const out = path.join(home, 'dist');
    await exec(process.execPath, [
      path.join(REPO, 'node_modules/typescript/bin/tsc'),
      '-p',
      path.join(REPO, 'sdk/typescript/tsconfig.build.json'),
      '--outDir',
      out,
    ]);
    const script = `import Airmy from ${JSON.stringify(path.join(out, 'index.js'))};
const client = new Airmy({ caFile: process.env.CA });
const org = await client.organization.retrieve();
console.log(org.id, process.version);`;
    const { stdout } = await exec('/usr/bin/node', ['--input-type=module', '-e', script], {
      env: {
        PATH: '/usr/bin:/bin',
        AIRMY_API_KEY: server.key,
        AIRMY_BASE_URL: server.baseURL,
        CA: server.caFile,
      },
    });
    assert.equal(stdout.trim(), `${server.org} ${version.trim()}`);
    assert.ok(major >= 20, `the system Node is ${version.trim()}`);
  });
});
