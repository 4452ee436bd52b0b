// Runs `syncml-gateway` as its own process (src/cli/run.ts through tsx), as an admin would: exit
// status, stdout and stderr. Settings variables of the outer environment are not inherited.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { repoRoot } from '../../support/processes.js';

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

const SETTINGS_ENV = /^(PORT|HOST|SYNCML_PATH|MAPPINGS_DIR|STATE_DIR|REDIS_URL|LOG_LEVEL|PUBLIC_URL|TLS_.*|MAPPINGS_WATCH|SHUTDOWN_GRACE_SECONDS)$/;

export function runCli(args: string[], env: Record<string, string> = {}, timeoutMs = 30_000): Promise<CliResult> {
  const base: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!SETTINGS_ENV.test(k)) base[k] = v;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(repoRoot, 'src', 'cli', 'run.ts'), ...args], {
      cwd: repoRoot, env: { ...base, ...env }, stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`syncml-gateway ${args.join(' ')} did not end within ${timeoutMs} ms\nstdout: ${stdout}\nstderr: ${stderr}`));
    }, timeoutMs);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}
