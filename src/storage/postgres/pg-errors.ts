import { DependencyTimeoutException, KMSInternalException } from '../../errors.js';
import { describeTarget, type PostgresTarget } from './connection.js';

/**
 * Turning PostgreSQL failures into what a KMS client should see. Only failures of the connection
 * are translated — the database unreachable, gone, restarting, too busy to answer — because those
 * are the ones a client should retry; anything else (a constraint the caller broke, a bug) goes up
 * unchanged and the store's callers decide.
 *
 * - Could not get an answer at all (refused, unreachable, timed out, not accepting connections
 *   yet): DependencyTimeoutException, HTTP 503, retryable; nothing was done.
 * - The connection broke while a statement was in flight: KMSInternalException, HTTP 500; the
 *   statement may or may not have committed, so the client must not assume either.
 */

// Socket failures Node reports while connecting or talking to the server.
const UNREACHABLE_ERRNO = new Set([
  'ECONNREFUSED',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'ENOENT', // a Unix socket path that is not there
]);
const BROKEN_ERRNO = new Set(['ECONNRESET', 'EPIPE', 'ECONNABORTED']);

// SQLSTATEs (PostgreSQL manual, Appendix A): class 08 connection exceptions, and the server
// shutting down, restarting or out of connection slots.
const UNAVAILABLE_SQLSTATE = new Set(['57P03', '53300', '53400']);
const BROKEN_SQLSTATE = new Set(['57P01', '57P02']);

// pg reports these as plain Errors with no code; the messages are pg's own (pg 8.x).
const UNREACHABLE_MESSAGE =
  /timeout exceeded when trying to connect|Connection terminated due to connection timeout|Query read timeout/;
const BROKEN_MESSAGE = /Connection terminated|not queryable|Client was closed/;

export type ConnectionFailure = 'unreachable' | 'broken';

/** Classifies `err` as a failure of the connection to PostgreSQL, or undefined for anything else. */
export function connectionFailure(err: unknown): ConnectionFailure | undefined {
  if (!(err instanceof Error)) return undefined;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string') {
    if (UNREACHABLE_ERRNO.has(code) || UNAVAILABLE_SQLSTATE.has(code)) return 'unreachable';
    if (code.startsWith('08')) return 'unreachable';
    if (BROKEN_ERRNO.has(code) || BROKEN_SQLSTATE.has(code)) return 'broken';
  }
  if (UNREACHABLE_MESSAGE.test(err.message)) return 'unreachable';
  if (BROKEN_MESSAGE.test(err.message)) return 'broken';
  // Several addresses tried (localhost → ::1 and 127.0.0.1): Node wraps the attempts.
  if (err instanceof AggregateError && err.errors.some((e) => connectionFailure(e) === 'unreachable')) {
    return 'unreachable';
  }
  return undefined;
}

/** pg refused to send on a connection it already knew was dead: nothing reached the server. */
export function neverSent(err: unknown): boolean {
  return err instanceof Error && /is not queryable/.test(err.message);
}

/** Maps a connection failure to the KMS error the client sees; anything else is returned as is. */
export function toStoreError(err: unknown, target: PostgresTarget): unknown {
  const failure = connectionFailure(err);
  if (failure === undefined) return err;
  const detail = `PostgreSQL store at ${describeTarget(target)}: ${errorText(err)}`;
  return failure === 'unreachable'
    ? new DependencyTimeoutException('The key store did not answer in time. Try again later.', detail)
    : new KMSInternalException('An internal error occurred. Try again later.', detail);
}

/** A failure to open the store at start: one line, naming where, no stack. */
export class StoreUnavailableError extends Error {
  constructor(target: PostgresTarget, cause: unknown) {
    super(`Cannot open the PostgreSQL store at ${describeTarget(target)}: ${errorText(cause)}`);
    this.name = 'StoreUnavailableError';
  }
}

export function errorText(err: unknown): string {
  if (err instanceof AggregateError && err.errors.length > 0) {
    return err.errors.map(errorText).join('; ');
  }
  if (!(err instanceof Error)) return String(err);
  const code = (err as { code?: unknown }).code;
  const text = err.message || err.name;
  return typeof code === 'string' && !text.includes(code) ? `${text} (${code})` : text;
}
