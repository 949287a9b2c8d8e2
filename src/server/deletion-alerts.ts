import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { Logger } from 'pino';
import type { DeletionAlertSink } from '../operations/context.js';

/**
 * Deletion alerts (`--deletion-alert-url`): when a request is refused because its key is pending
 * deletion, Trent POSTs `{"keyArn", "operation", "caller", "time"}` (time in ISO 8601, on the
 * lifecycle clock) as JSON to the URL — the "alarm before deletion" practice AWS implements with a
 * CloudWatch alarm on CloudTrail. Fire and forget: the request is answered at once; a webhook
 * that fails or takes longer than 5 seconds is logged, never retried.
 */
const TIMEOUT_MS = 5_000;

export class WebhookDeletionAlerts implements DeletionAlertSink {
  constructor(
    private readonly url: URL,
    private readonly logger: Logger,
  ) {}

  keyUsed(alert: { keyArn: string; operation: string; caller: string; time: number }): void {
    const body = JSON.stringify({ ...alert, time: new Date(alert.time).toISOString() });
    const send = this.url.protocol === 'https:' ? httpsRequest : httpRequest;
    const req = send(
      this.url,
      {
        method: 'POST',
        timeout: TIMEOUT_MS,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
      },
      (res) => {
        res.resume();
        if ((res.statusCode ?? 0) >= 300) {
          this.logger.warn(
            { status: res.statusCode, keyArn: alert.keyArn },
            'deletion alert webhook refused the alert',
          );
        }
      },
    );
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', (err) => this.logger.warn({ err: err.message, keyArn: alert.keyArn }, 'deletion alert not sent'));
    req.end(body);
  }
}
