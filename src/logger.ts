// Structured logging (pino). Secrets never reach a log line: credentials are redacted by path.
import { pino, type DestinationStream, type Logger } from 'pino';

export type { Logger };

export function createLogger(level: string, destination?: NodeJS.WritableStream | DestinationStream): Logger {
  const opts = {
    level,
    base: { svc: 'syncml-gateway' },
    redact: { paths: ['password', '*.password', 'credentials', '*.credentials', 'authorization', '*.authorization', 'cred', '*.cred'], censor: '[redacted]' },
  };
  return destination ? pino(opts, destination as pino.DestinationStream) : pino(opts);
}
