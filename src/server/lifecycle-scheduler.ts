import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { buildServiceEventRecord } from '../audit/record.js';
import type { AuditSink } from '../audit/writer.js';
import type { Clock } from '../clock.js';
import type { KeyRepository } from '../keys/key-repository.js';
import type { KeyRecord } from '../storage/records.js';

/**
 * Timed work on keys (lifecycle-jobs.ts): deletion at the end of the waiting period, automatic
 * rotation and the expiry of imported material, every `intervalMs` of real time, against the
 * lifecycle clock. One run at a time; a failed job is logged and tried again at the next tick. Each
 * change is recorded as KMS records it, an AwsServiceEvent (`DeleteKey`, `RotateKey`,
 * `DeleteExpiredKeyMaterial`).
 */
export interface LifecycleJob {
  /** The CloudTrail service event name recorded for each key the job changed. */
  eventName: string;
  /** Log line for each key changed. */
  message: string;
  run(keys: KeyRepository, now: () => number): Promise<KeyRecord[]>;
}

export class LifecycleScheduler {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;

  constructor(
    private readonly keys: KeyRepository,
    private readonly clock: Clock,
    private readonly logger: Logger,
    private readonly intervalMs: number,
    private readonly jobs: readonly LifecycleJob[],
    private readonly audit?: AuditSink,
  ) {}

  start(): void {
    this.timer = setInterval(() => void this.runOnce(), this.intervalMs);
    this.timer.unref();
  }

  async runOnce(): Promise<void> {
    if (this.running !== undefined) return this.running;
    this.running = (async () => {
      for (const job of this.jobs) {
        try {
          for (const key of await job.run(this.keys, () => this.clock.now())) {
            this.logger.info({ keyArn: key.arn }, job.message);
            const time = Date.now();
            await this.audit?.write(
              buildServiceEventRecord({
                eventName: job.eventName,
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
          this.logger.error({ err, job: job.eventName }, 'lifecycle scheduler job failed');
        }
      }
    })().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  async stop(): Promise<void> {
    if (this.timer !== undefined) clearInterval(this.timer);
    await this.running;
  }
}
