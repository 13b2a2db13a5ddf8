/** Runs the real `airmy` CLI in a child process with its own environment (config dir, server). */
import { spawn } from 'node:child_process';
import path from 'node:path';

export const CLI_MAIN = path.resolve(import.meta.dirname, '../../src/main.ts');

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function cliRunner(env: Record<string, string>) {
  return (args: string[], opts: { input?: string; env?: Record<string, string> } = {}) =>
    new Promise<CliResult>((resolve, reject) => {
      const child = spawn(process.execPath, [CLI_MAIN, ...args], {
        env: { PATH: process.env.PATH ?? '', ...env, ...opts.env },
        stdio: ['pipe', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d) => {
        stdout += d;
      });
      child.stderr.on('data', (d) => {
        stderr += d;
      });
      child.once('error', reject);
      child.once('close', (code) => resolve({ code, stdout, stderr }));
      child.stdin.end(opts.input ?? '');
    });
}
