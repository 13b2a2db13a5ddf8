/**
 * One bash process that runs blocks one after another, as a reader pasting them into one terminal
 * would: variables and functions carry from block to block. Each block runs under `set -e -o
 * pipefail`, so any failing command fails it; a strict block also fails on an HTTP status ≥ 400
 * from curl (`--fail-with-body`). A failure ends the session (later blocks build on earlier ones).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

export interface BlockResult {
  /** the block's exit status; null when it was killed after the time limit */
  code: number | null;
  output: string;
}

const DONE = '__AIRMY_DOCS_BLOCK_DONE__';

export function openBashSession(opts: { cwd: string; env: Record<string, string>; timeoutMs?: number }) {
  const dir = mkdtempSync(path.join(tmpdir(), 'airmy-docs-session-'));
  const proc: ChildProcess = spawn('bash', ['--noprofile', '--norc'], {
    cwd: opts.cwd,
    env: opts.env,
    detached: true, // its own process group, so a hung block is killed with everything it started
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let control = '';
  let exited: number | null | undefined;
  let wake: (() => void) | null = null;
  proc.stdout!.on('data', (d) => {
    control += d;
    wake?.();
  });
  proc.stderr!.resume();
  proc.on('exit', (code, signal) => {
    exited = code ?? (signal ? 128 : null);
    wake?.();
  });
  proc.stdin!.write('set -e -o pipefail\n');
  let n = 0;

  return {
    async run(code: string, strict: boolean): Promise<BlockResult> {
      n++;
      const file = path.join(dir, `block-${n}.sh`);
      const out = path.join(dir, `block-${n}.out`);
      writeFileSync(file, `${code}\n`);
      writeFileSync(out, '');
      if (exited !== undefined) return { code: exited ?? 1, output: 'the session had already ended' };
      const setup = strict ? 'curl() { command curl --fail-with-body "$@"; }' : 'unset -f curl';
      proc.stdin!.write(`${setup}\nsource '${file}' > '${out}' 2>&1 < /dev/null\necho ${DONE}\n`);
      const timedOut = await new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => resolve(true), opts.timeoutMs ?? 30_000);
        const check = () => {
          if (control.includes(DONE) || exited !== undefined) {
            clearTimeout(timer);
            wake = null;
            resolve(false);
          }
        };
        wake = check;
        check();
      });
      control = control.replace(`${DONE}\n`, '');
      const output = readFileSync(out, 'utf8');
      if (timedOut) {
        this.kill();
        return { code: null, output: `${output}\n[killed after ${opts.timeoutMs ?? 30_000} ms]` };
      }
      if (exited !== undefined) return { code: exited ?? 1, output };
      return { code: 0, output };
    },
    kill() {
      if (exited === undefined && proc.pid) {
        try {
          process.kill(-proc.pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
    },
    async close() {
      if (exited === undefined && proc.exitCode === null && proc.signalCode === null) {
        const gone = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
        // a session killed at its time limit may be gone before its exit event: its stdin is closed
        proc.stdin!.once('error', () => {});
        proc.stdin!.end('exit 0\n');
        await gone;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
