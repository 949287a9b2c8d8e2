import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { Authenticator } from '../auth/authenticate.js';
import type { SystemClock } from '../clock.js';
import { AccessDeniedException, toKmsError, ValidationException } from '../errors.js';
import { readBody } from '../wire/read-body.js';
import { sendError, sendResult } from '../wire/reply.js';
import { signedRequest } from './request-meta.js';

/**
 * Time travel for tests (beyond AWS): `POST /trent/admin/clock` with `{"advanceSeconds": N}` moves
 * the lifecycle clock — deletion windows, rotation dates, import tokens and material expiry —
 * forward by N seconds, then runs every scheduler at once so that whatever fell due has happened
 * when the reply arrives. SigV4's window and the `Date` header keep real time.
 *
 * Only a server started with `--allow-time-travel` serves it, and only to the deployment's
 * administrator access key (SigV4-signed for service `kms`); anyone else gets AccessDenied. The
 * reply is `{"now": <epoch seconds>, "offsetSeconds": <total advance>}`.
 */
export const ADMIN_CLOCK_PATH = '/trent/admin/clock';

/** One year: more in one call is almost certainly a unit mistake. */
const MAX_ADVANCE_SECONDS = 366 * 86_400;

export interface AdminClockOptions {
  enabled: boolean;
  clock: SystemClock;
  authenticator: Authenticator;
  adminAccessKeyId: string;
  /** Runs every lifecycle scheduler once (deletion, rotation, material expiry). */
  runSchedulers: () => Promise<void>;
  logger: Logger;
}

export function adminClockRoute(options: AdminClockOptions) {
  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const requestId = randomUUID();
    try {
      const body = await readBody(req, 4096);
      const { caller } = await options.authenticator.authenticate(signedRequest(req, body));
      if (!options.enabled) {
        throw new AccessDeniedException(
          'Time travel is disabled on this server (start it with --allow-time-travel).',
          `clock change by ${caller.arn} refused`,
        );
      }
      if (caller.accessKeyId !== options.adminAccessKeyId) {
        throw new AccessDeniedException(
          `User: ${caller.arn} is not authorized to move the clock of this server.`,
          `clock change by ${caller.accessKeyId} refused`,
        );
      }
      const seconds = advanceSeconds(body);
      options.clock.advance(seconds * 1000);
      options.logger.warn(
        { by: caller.arn, advanceSeconds: seconds, offsetSeconds: options.clock.offsetMs / 1000 },
        'TIME TRAVEL: the lifecycle clock moved forward',
      );
      await options.runSchedulers();
      sendResult(res, requestId, { now: options.clock.now() / 1000, offsetSeconds: options.clock.offsetMs / 1000 });
    } catch (err) {
      sendError(res, requestId, toKmsError(err));
    }
  };
}

function advanceSeconds(body: Buffer): number {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    throw new ValidationException('The body must be JSON: {"advanceSeconds": N}.');
  }
  const n = (parsed as { advanceSeconds?: unknown } | null)?.advanceSeconds;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > MAX_ADVANCE_SECONDS) {
    throw new ValidationException(`advanceSeconds must be an integer from 0 to ${MAX_ADVANCE_SECONDS}.`);
  }
  return n;
}
