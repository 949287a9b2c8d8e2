import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import {
  CreateKeyCommand,
  DecryptCommand,
  EncryptCommand,
  type KMSClient,
  ScheduleKeyDeletionCommand,
} from '@aws-sdk/client-kms';
import { startServer, type TestServer } from '../helpers/server.js';
import { rejectsWith } from './sdk-assert.js';

/**
 * Deletion alerts: a server started with --deletion-alert-url POSTs one JSON alert to a loopback
 * webhook each time a request is refused because its key is pending deletion — and none for
 * ordinary use.
 */
interface Alert {
  keyArn: string;
  operation: string;
  caller: string;
  time: string;
}

describe('deletion alerts', { timeout: 60_000 }, () => {
  let webhook: Server;
  let server: TestServer;
  let kms: KMSClient;
  const alerts: Alert[] = [];
  let waiting: (() => void) | undefined;

  const nextAlert = async (): Promise<Alert> => {
    if (alerts.length === 0) {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('no alert arrived')), 5_000);
        waiting = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
    return alerts.shift() as Alert;
  };

  before(async () => {
    webhook = createServer((req, res) => {
      let body = '';
      req.on('data', (d: Buffer) => (body += d.toString()));
      req.on('end', () => {
        assert.equal(req.method, 'POST');
        assert.equal(req.headers['content-type'], 'application/json');
        alerts.push(JSON.parse(body) as Alert);
        res.writeHead(204).end();
        waiting?.();
      });
    });
    await new Promise<void>((resolve) => webhook.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(webhook.address() as AddressInfo).port}/alerts`;
    server = await startServer({ args: ['--deletion-alert-url', url] });
    kms = server.client();
  });
  after(async () => {
    await server?.destroy();
    await new Promise<void>((resolve) => webhook.close(() => resolve()));
  });

  it('posts the key ARN, operation, caller and time when a key pending deletion is used', async () => {
    const key = (await kms.send(new CreateKeyCommand({}))).KeyMetadata;
    const sealed = await kms.send(new EncryptCommand({ KeyId: key?.KeyId, Plaintext: Buffer.from('still needed') }));
    assert.equal(alerts.length, 0, 'no alert for ordinary use');
    await kms.send(new ScheduleKeyDeletionCommand({ KeyId: key?.KeyId, PendingWindowInDays: 7 }));

    const started = Date.now();
    await rejectsWith(
      kms.send(new DecryptCommand({ CiphertextBlob: sealed.CiphertextBlob })),
      'KMSInvalidStateException',
      `${key?.Arn} is pending deletion.`,
    );
    const alert = await nextAlert();
    assert.equal(alert.keyArn, key?.Arn);
    assert.equal(alert.operation, 'Decrypt');
    assert.equal(alert.caller, 'arn:aws:iam::111122223333:root');
    assert.ok(Math.abs(Date.parse(alert.time) - started) < 60_000, alert.time);

    await rejectsWith(
      kms.send(new EncryptCommand({ KeyId: key?.Arn, Plaintext: Buffer.from('x') })),
      'KMSInvalidStateException',
      /pending deletion/,
    );
    assert.equal((await nextAlert()).operation, 'Encrypt');
    assert.equal(alerts.length, 0);
  });
});
