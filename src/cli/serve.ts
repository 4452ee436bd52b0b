// `syncml-gateway serve`: start the gateway and wire the process signals. A gateway that cannot
// start (port in use, invalid configuration) exits non-zero with the reason on stderr; SIGHUP
// reloads the mappings; SIGTERM/SIGINT close within SHUTDOWN_GRACE_SECONDS and exit.
import { describeError } from '../errors.js';
import { exitCodeFor } from './usage.js';

export async function serve(): Promise<void> {
  const { startGateway } = await import('../main.js');
  let gw;
  try {
    gw = await startGateway({}, { ownsProcess: true });
  } catch (err) {
    // Exit at once: a half-started gateway must not idle on (or look like it runs).
    process.stderr.write(`syncml-gateway serve: ${describeError(err)}\n`);
    process.exit(exitCodeFor(err));
  }
  const running = gw;
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    running.log.info({ signal }, 'shutting down: no new requests; running ones get the grace period');
    running.close().then(
      () => process.exit(0),
      (err: unknown) => {
        running.log.error({ err: describeError(err) }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGHUP', () => {
    running.log.info('SIGHUP: reloading mappings');
    running.reloadMappings();
  });
}
