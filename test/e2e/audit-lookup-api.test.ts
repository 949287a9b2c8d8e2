import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CreateKeyCommand, DescribeKeyCommand, EncryptCommand, type KMSClient } from '@aws-sdk/client-kms';
import { formatAmzDate, signRequest } from '../../src/auth/sigv4.js';
import { PROJECT_ROOT, REGION, startServer, type TestServer } from '../helpers/server.js';

/**
 * `POST /trent/admin/audit/lookup` (docs/audit.md, "Lookup"): the administrator key finds the
 * records of SDK calls, filtered and paginated; other keys are refused; the lookup itself is not
 * recorded.
 */
const PATH = '/trent/admin/audit/lookup';

interface Credentials {
  accessKeyId: string;
  secretAccessKey: string;
}
interface Reply {
  status: number;
  body: { Records?: AuditRecord[]; NextMarker?: string; __type?: string; message?: string };
}
interface AuditRecord {
  eventID: string;
  eventName: string;
  eventTime: string;
  resources?: { ARN: string }[];
}

async function lookup(url: string, credentials: Credentials, body: string | object): Promise<Reply> {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  const amzDate = formatAmzDate(new Date());
  const headers: Record<string, string> = {
    host: new URL(url).host,
    'x-amz-date': amzDate,
    'content-type': 'application/json',
  };
  const authorization = signRequest({
    method: 'POST',
    path: PATH,
    headers,
    body: text,
    accessKeyId: credentials.accessKeyId,
    secret: credentials.secretAccessKey,
    region: REGION,
    service: 'kms',
    amzDate,
  });
  const res = await fetch(new URL(PATH, url), { method: 'POST', headers: { ...headers, authorization }, body: text });
  return { status: res.status, body: (await res.json()) as Reply['body'] };
}

describe('audit lookup API', () => {
  let server: TestServer;
  let kms: KMSClient;
  let keyA: string;
  let keyB: string;

  before(async () => {
    server = await startServer();
    kms = server.client();
    keyA = (await kms.send(new CreateKeyCommand({}))).KeyMetadata?.Arn ?? '';
    keyB = (await kms.send(new CreateKeyCommand({}))).KeyMetadata?.Arn ?? '';
    const plaintext = new TextEncoder().encode('hello');
    await kms.send(new EncryptCommand({ KeyId: keyA, Plaintext: plaintext }));
    await kms.send(new EncryptCommand({ KeyId: keyA, Plaintext: plaintext }));
    await kms.send(new EncryptCommand({ KeyId: keyB, Plaintext: plaintext }));
    await kms.send(new DescribeKeyCommand({ KeyId: keyB }));
  });
  after(async () => {
    kms?.destroy();
    await server?.destroy();
  });

  it('filters by event name and key ARN, newest first', async () => {
    const reply = await lookup(server.url, server.credentials, { eventName: 'Encrypt', keyArn: keyA });
    assert.equal(reply.status, 200, JSON.stringify(reply.body));
    const records = reply.body.Records ?? [];
    assert.equal(records.length, 2);
    for (const r of records) {
      assert.equal(r.eventName, 'Encrypt');
      assert.deepEqual(
        r.resources?.map((x) => x.ARN),
        [keyA],
      );
    }
    assert.equal(reply.body.NextMarker, undefined);

    const described = await lookup(server.url, server.credentials, { eventName: 'DescribeKey' });
    assert.deepEqual(
      described.body.Records?.map((r) => r.resources?.[0]?.ARN),
      [keyB],
    );
  });

  it('pages with an opaque NextMarker', async () => {
    const seen: AuditRecord[] = [];
    let marker: string | undefined;
    let pages = 0;
    do {
      const reply = await lookup(server.url, server.credentials, {
        eventName: 'Encrypt',
        limit: 1,
        ...(marker === undefined ? {} : { marker }),
      });
      assert.equal(reply.status, 200, JSON.stringify(reply.body));
      seen.push(...(reply.body.Records ?? []));
      marker = reply.body.NextMarker;
      pages += 1;
      assert.ok(pages < 10, 'pagination does not end');
    } while (marker !== undefined);
    assert.equal(seen.length, 3);
    assert.equal(new Set(seen.map((r) => r.eventID)).size, 3);
    // Newest first: key B's Encrypt was the last one made.
    assert.deepEqual(seen[0]?.resources?.[0]?.ARN, keyB);
    const times = seen.map((r) => Date.parse(r.eventTime));
    assert.deepEqual(
      times,
      [...times].sort((a, b) => b - a),
    );
  });

  it('refuses any key but the administrator', async () => {
    const other = await createAccessKey(server.dataDir, ['--account', '444455556666']);
    const reply = await lookup(server.url, other, {});
    assert.equal(reply.status, 400);
    assert.equal(reply.body.__type, 'AccessDeniedException');
    assert.match(reply.body.message ?? '', /not authorized to look up the audit records/);
  });

  it('rejects bad JSON and bad filter values', async () => {
    const bad = async (body: string | object, type: string) => {
      const reply = await lookup(server.url, server.credentials, body);
      assert.equal(reply.status, 400, JSON.stringify(reply.body));
      assert.equal(reply.body.__type, type, JSON.stringify(body));
    };
    await bad('{not json', 'SerializationException');
    await bad('[]', 'SerializationException');
    await bad({ limit: 0 }, 'ValidationException');
    await bad({ limit: 1001 }, 'ValidationException');
    await bad({ readOnly: 'yes' }, 'ValidationException');
    await bad({ startTime: 'yesterday' }, 'ValidationException');
    await bad({ marker: 'bogus' }, 'ValidationException');
    await bad({ eventname: 'Encrypt' }, 'ValidationException');
  });

  it('does not record the lookup itself', async () => {
    const reply = await lookup(server.url, server.credentials, { limit: 1000 });
    assert.equal(reply.status, 200);
    const names = new Set(reply.body.Records?.map((r) => r.eventName));
    assert.deepEqual([...names].sort(), ['CreateKey', 'DescribeKey', 'Encrypt']);
  });
});

function createAccessKey(dataDir: string, args: string[]): Promise<Credentials> {
  const argv = [join(PROJECT_ROOT, 'bin/trent'), 'access-key', 'create', '--data-dir', dataDir, ...args];
  return new Promise((resolve, reject) => {
    execFile(process.execPath, argv, { timeout: 30_000 }, (err, stdout, stderr) => {
      if (err !== null) return reject(new Error(`trent access-key create failed: ${err.message}\n${stderr}`));
      const accessKeyId = /^aws_access_key_id = (\S+)$/m.exec(stdout)?.[1];
      const secretAccessKey = /^aws_secret_access_key = (\S+)$/m.exec(stdout)?.[1];
      if (accessKeyId === undefined || secretAccessKey === undefined) {
        return reject(new Error(`no profile in the output of trent access-key create:\n${stdout}`));
      }
      resolve({ accessKeyId, secretAccessKey });
    });
  });
}
