import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { buildServiceEventRecord } from '../audit/record.js';
import type { AuditSink } from '../audit/writer.js';
import type { Clock } from '../clock.js';
import { deleteDueKeys } from '../keys/delete-due-keys.js';
import type { KeyRepository } from '../keys/key-repository.js';

/**
 * Destroys keys whose deletion window has ended, every `intervalMs` of real time, against the
 * lifecycle clock. One run at a time; a failed run is logged and retried at the next tick. Each
 * deletion is recorded as KMS records it: a `DeleteKey` AwsServiceEvent.
 */
export class DeletionScheduler {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;

  constructor(
    private readonly keys: KeyRepository,
    private readonly clock: Clock,
    private readonly logger: Logger,
    private readonly intervalMs: number,
    private readonly audit?: AuditSink,
  ) {}

  start(): void {
    this.timer = setInterval(() => void this.runOnce(), this.intervalMs);
    this.timer.unref();
  }

  async runOnce(): Promise<void> {
    if (this.running !== undefined) return this.running;
    this.running = (async () => {
      try {
        for (const key of await deleteDueKeys(this.keys, this.clock.now())) {
          this.logger.info({ keyArn: key.arn }, 'key deleted at the end of its waiting period');
          const time = Date.now();
          await this.audit?.write(
            buildServiceEventRecord({
              eventName: 'DeleteKey',
              keyArn: key.arn,
              accountId: key.accountId,
              region: key.region,
              eventId: randomUUID(),
              requestId: randomUUID(),
              time,
            }),
            time,
          );
        }
      } catch (err) {
        this.logger.error({ err }, 'deletion scheduler run failed');
      } finally {
        this.running = undefined;
      }
    })();
    return this.running;
  }

  async stop(): Promise<void> {
    if (this.timer !== undefined) clearInterval(this.timer);
    await this.running;
  }
}
