import { type Logger, pino } from 'pino';

/**
 * The server's logger: JSON lines on stdout, written synchronously. Synchronous writes cost nothing
 * on the hot path (successful requests log at debug) and, unlike pino's default asynchronous
 * destination, register no flush-at-exit that can spin forever when stdout's reader has gone.
 */
export function createLogger(level: string): Logger {
  return pino({ level }, pino.destination({ fd: 1, sync: true }));
}
