// A throw-away real redis-server on a free 127.0.0.1 port (no persistence, own temp dir),
// for integration tests of the Redis state store; restart()/kill() simulate outages.
import { connect } from 'node:net';
import path from 'node:path';
import { getFreePort, isListening, makeTempDir, removeTempDir, requireBinary, spawnService, waitUntil } from './processes.js';
import type { ServiceProcess } from './processes.js';

export interface RedisHandle {
  /** redis://127.0.0.1:PORT */
  readonly url: string;
  readonly port: number;
  readonly dir: string;
  /** Graceful shutdown; the handle can be started again with restart(). */
  stop(): Promise<void>;
  /** Stop (if running) and start again on the same port; data is lost (no persistence). */
  restart(): Promise<void>;
  /** SIGKILL, like a crash. restart() brings it back. */
  kill(): Promise<void>;
  /** Stop and delete the temp dir. */
  dispose(): Promise<void>;
}

export interface RedisOptions {
  port?: number;
  /** Extra redis-server arguments, e.g. ['--requirepass', 'x']. */
  args?: string[];
}

/** Send one inline command and resolve with the first reply line. */
export function redisCommand(port: number, command: string, timeoutMs = 1000): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = connect({ host: '127.0.0.1', port });
    let buf = '';
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error(`redis ${command}: no reply`));
    }, timeoutMs);
    sock.setEncoding('utf8');
    sock.once('connect', () => sock.write(`${command}\r\n`));
    sock.on('data', (d: string) => {
      buf += d;
      const eol = buf.indexOf('\r\n');
      if (eol >= 0) {
        clearTimeout(timer);
        sock.destroy();
        resolve(buf.slice(0, eol));
      }
    });
    sock.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

export async function startRedis(opts: RedisOptions = {}): Promise<RedisHandle> {
  const bin = requireBinary('redis-server', 'redis-server');
  const port = opts.port ?? (await getFreePort());
  const dir = makeTempDir('redis');
  let proc: ServiceProcess | undefined;

  const launch = async (): Promise<void> => {
    if (await isListening(port)) throw new Error(`redis: port ${port} is already in use`);
    const args = [
      '--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no',
      '--dir', dir, '--daemonize', 'no', '--logfile', '', ...(opts.args ?? []),
    ];
    const p = spawnService(bin, args, path.join(dir, 'redis.log'), { cwd: dir });
    proc = p;
    await waitUntil(
      async () => (await redisCommand(port, 'PING', 300)) === '+PONG',
      `redis-server on port ${port}`,
      5000,
      p.exitReason,
    );
  };
  const halt = async (how: 'stop' | 'kill'): Promise<void> => {
    const p = proc;
    proc = undefined;
    if (p) await (how === 'stop' ? p.stop() : p.kill());
  };

  await launch();
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    dir,
    stop: () => halt('stop'),
    kill: () => halt('kill'),
    restart: async () => {
      await halt('stop');
      await launch();
    },
    dispose: async () => {
      await halt('stop');
      removeTempDir(dir);
    },
  };
}
