import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { Agent, type ClientRequestArgs } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  CancelKeyDeletionCommand,
  CreateAliasCommand,
  CreateKeyCommand,
  DecryptCommand,
  DescribeKeyCommand,
  DisableKeyCommand,
  EnableKeyCommand,
  EncryptCommand,
  GenerateDataKeyCommand,
  GenerateDataKeyWithoutPlaintextCommand,
  KMSClient,
  ListAliasesCommand,
  ListKeysCommand,
  ListResourceTagsCommand,
  ReEncryptCommand,
  ScheduleKeyDeletionCommand,
} from '@aws-sdk/client-kms';
import { REGION, startServer, type TestServer } from '../helpers/server.js';
import { bytes, NO_MESSAGE, rejectsWith, uniqueAlias } from './sdk-assert.js';

/**
 * What a Trent deployment keeps on disk: a server stopped with SIGTERM and started again on the
 * same data directory has every key, alias, tag and ciphertext of the first; nothing on disk
 * holds a plaintext, a data key or a secret in the clear; the root key and credentials files are
 * private; a wrong or missing root key stops the start instead of hiding the loss; and a pooled
 * client that sits idle longer than Node's default keep-alive sees no socket error.
 */

interface Ciphertext {
  label: string;
  keyArn: string;
  blob: Buffer;
  plaintext: Buffer;
  context?: Record<string, string>;
}

describe('a deployment on disk', { timeout: 180_000 }, () => {
  let dataDir: string;
  /** The server currently running on dataDir, if any. */
  let running: TestServer | undefined;
  const outputs: string[] = [];

  // What the first server made, for the later tests to find again.
  const ciphertexts: Ciphertext[] = [];
  const secrets: Array<{ label: string; value: Buffer }> = [];
  let live: { keyId: string; arn: string };
  let disabled: { keyId: string; arn: string };
  let doomed: { keyId: string; arn: string };
  let liveAlias: string;

  before(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'trent-persist-'));
  });

  after(async () => {
    await running?.stop();
    if (dataDir !== undefined) rmSync(dataDir, { recursive: true, force: true });
  });

  async function start(env?: NodeJS.ProcessEnv): Promise<TestServer> {
    // One server at a time on the data directory; a test that failed half-way may have left one.
    if (running !== undefined) await stop();
    const server = await startServer({ dataDir, ...(env === undefined ? {} : { env }) });
    running = server;
    return server;
  }

  async function stop(): Promise<void> {
    assert.ok(running !== undefined);
    const server = running;
    running = undefined;
    outputs.push(server.output());
    assert.equal(await server.stop(), 0, `the server did not exit cleanly on SIGTERM:\n${server.output()}`);
  }

  async function decryptAll(kms: KMSClient, only: (c: Ciphertext) => boolean = () => true): Promise<void> {
    for (const c of ciphertexts.filter(only)) {
      const out = await kms.send(new DecryptCommand({ CiphertextBlob: c.blob, EncryptionContext: c.context }));
      assert.equal(out.KeyId, c.keyArn, c.label);
      assert.deepEqual(bytes(out.Plaintext), c.plaintext, c.label);
    }
  }

  async function snapshot(kms: KMSClient) {
    const keys = await kms.send(new ListKeysCommand({ Limit: 1000 }));
    const aliases = await kms.send(new ListAliasesCommand({ Limit: 100 }));
    const metadata: unknown[] = [];
    const tags: unknown[] = [];
    for (const { KeyId } of keys.Keys ?? []) {
      metadata.push((await kms.send(new DescribeKeyCommand({ KeyId }))).KeyMetadata);
      tags.push((await kms.send(new ListResourceTagsCommand({ KeyId }))).Tags);
    }
    return { keys: keys.Keys, aliases: aliases.Aliases, metadata, tags };
  }

  let saved: Awaited<ReturnType<typeof snapshot>>;

  it('a restarted server has every key, alias, tag and ciphertext of the first', async () => {
    const first = await start();
    const kms = first.client();
    try {
      const create = async (Description: string) => {
        const { KeyMetadata } = await kms.send(
          new CreateKeyCommand({ Description, Tags: [{ TagKey: 'made-by', TagValue: Description }] }),
        );
        return { keyId: KeyMetadata?.KeyId ?? '', arn: KeyMetadata?.Arn ?? '' };
      };
      live = await create('live');
      disabled = await create('disabled');
      doomed = await create('doomed');
      liveAlias = uniqueAlias('live');
      await kms.send(new CreateAliasCommand({ AliasName: liveAlias, TargetKeyId: live.keyId }));
      await kms.send(new CreateAliasCommand({ AliasName: uniqueAlias('disabled'), TargetKeyId: disabled.keyId }));
      await kms.send(new CreateAliasCommand({ AliasName: uniqueAlias('doomed'), TargetKeyId: doomed.keyId }));

      for (const key of [live, disabled, doomed]) {
        for (const context of [undefined, { tenant: `t-${key.keyId}` }]) {
          const plaintext = randomBytes(48);
          const out = await kms.send(
            new EncryptCommand({ KeyId: key.arn, Plaintext: plaintext, EncryptionContext: context }),
          );
          ciphertexts.push({
            label: `Encrypt ${key.arn} ${JSON.stringify(context)}`,
            keyArn: key.arn,
            blob: bytes(out.CiphertextBlob),
            plaintext,
            context,
          });
          secrets.push({ label: 'an Encrypt plaintext', value: plaintext });
        }
        const context = { purpose: 'data key' };
        const gdk = await kms.send(
          new GenerateDataKeyCommand({ KeyId: key.keyId, KeySpec: 'AES_256', EncryptionContext: context }),
        );
        const dataKey = bytes(gdk.Plaintext);
        ciphertexts.push({
          label: `GenerateDataKey ${key.arn}`,
          keyArn: key.arn,
          blob: bytes(gdk.CiphertextBlob),
          plaintext: dataKey,
          context,
        });
        secrets.push({ label: 'a GenerateDataKey data key', value: dataKey });
      }
      const gdkwp = await kms.send(new GenerateDataKeyWithoutPlaintextCommand({ KeyId: liveAlias, NumberOfBytes: 32 }));
      const hidden = bytes((await kms.send(new DecryptCommand({ CiphertextBlob: gdkwp.CiphertextBlob }))).Plaintext);
      ciphertexts.push({
        label: 'GenerateDataKeyWithoutPlaintext',
        keyArn: live.arn,
        blob: bytes(gdkwp.CiphertextBlob),
        plaintext: hidden,
      });
      secrets.push({ label: 'a GenerateDataKeyWithoutPlaintext data key', value: hidden });
      const source = ciphertexts[0];
      assert.ok(source !== undefined);
      const re = await kms.send(
        new ReEncryptCommand({ CiphertextBlob: source.blob, DestinationKeyId: disabled.keyId }),
      );
      ciphertexts.push({
        label: 'ReEncrypt live → disabled',
        keyArn: disabled.arn,
        blob: bytes(re.CiphertextBlob),
        plaintext: source.plaintext,
      });

      await kms.send(new DisableKeyCommand({ KeyId: disabled.keyId }));
      await kms.send(new ScheduleKeyDeletionCommand({ KeyId: doomed.keyId, PendingWindowInDays: 7 }));
      saved = await snapshot(kms);
      assert.equal(saved.keys?.length, 3);
      assert.equal(saved.aliases?.length, 3);
    } finally {
      kms.destroy();
    }
    await stop();

    const second = await start();
    // It reads the three keys into its key cache once it serves: what follows runs on those.
    const preloaded = (line: string) => line.includes('key cache preloaded') && line.includes('"keys":3');
    for (let waited = 0; !second.output().split('\n').some(preloaded); waited += 20) {
      assert.ok(waited < 10_000, `no 'key cache preloaded' line for three keys:\n${second.output()}`);
      await sleep(20);
    }
    assert.equal(second.credentials.accessKeyId, first.credentials.accessKeyId, 'the admin key changed');
    assert.equal(second.credentials.secretAccessKey, first.credentials.secretAccessKey, 'the admin secret changed');
    const kms2 = second.client();
    try {
      assert.deepEqual(await snapshot(kms2), saved);
      await decryptAll(kms2, (c) => c.keyArn === live.arn);

      await rejectsWith(
        kms2.send(new DecryptCommand({ CiphertextBlob: ciphertexts.find((c) => c.keyArn === disabled.arn)?.blob })),
        'DisabledException',
        `${disabled.arn} is disabled.`,
      );
      await rejectsWith(
        kms2.send(new DecryptCommand({ CiphertextBlob: ciphertexts.find((c) => c.keyArn === doomed.arn)?.blob })),
        'KMSInvalidStateException',
        `${doomed.arn} is pending deletion.`,
      );
      await kms2.send(new EnableKeyCommand({ KeyId: disabled.keyId }));
      await kms2.send(new CancelKeyDeletionCommand({ KeyId: doomed.keyId }));
      await kms2.send(new EnableKeyCommand({ KeyId: doomed.keyId }));
      await decryptAll(kms2);

      // The context is still bound after the restart.
      const withContext = ciphertexts.find((c) => c.context !== undefined);
      assert.ok(withContext !== undefined);
      await rejectsWith(
        kms2.send(new DecryptCommand({ CiphertextBlob: withContext.blob })),
        'InvalidCiphertextException',
        NO_MESSAGE,
      );
      // New work goes on under the same key material.
      const out = await kms2.send(new EncryptCommand({ KeyId: liveAlias, Plaintext: Buffer.from('after restart') }));
      const dec = await kms2.send(new DecryptCommand({ CiphertextBlob: out.CiphertextBlob }));
      const liveMeta = saved.metadata.find((m) => (m as { KeyId?: string }).KeyId === live.keyId) as
        | { CurrentKeyMaterialId?: string }
        | undefined;
      assert.equal(dec.KeyMaterialId, liveMeta?.CurrentKeyMaterialId);
    } finally {
      kms2.destroy();
    }
  });

  it('nothing in the data directory holds a plaintext, a data key or a secret in the clear', async () => {
    assert.ok(secrets.length >= 10, 'the first test made the secrets to look for');
    const rootKeyText = readFileSync(join(dataDir, 'root.key'), 'utf8').trim();
    const rootKey = Buffer.from(rootKeyText, 'base64');
    assert.equal(rootKey.length, 32);
    const credentials = running?.credentials;
    assert.ok(credentials !== undefined);
    const adminSecret = Buffer.from(credentials.secretAccessKey, 'utf8');

    // The scanner finds what is there: the root key in its own file, the secret in credentials.
    assert.deepEqual(findIn(join(dataDir, 'root.key'), [{ label: 'root key', value: rootKey }]), ['root key (base64)']);
    assert.deepEqual(findIn(join(dataDir, 'credentials'), [{ label: 'secret', value: adminSecret }]), ['secret (raw)']);

    const scan = (when: string) => {
      const files = filesUnder(dataDir);
      assert.ok(
        files.some((f) => f.endsWith('trent.db')),
        `no database in ${files.join(', ')}`,
      );
      const hits: string[] = [];
      for (const file of files) {
        const name = file.slice(dataDir.length + 1);
        const wanted = [...secrets];
        if (name !== 'root.key') wanted.push({ label: 'the root key', value: rootKey });
        if (name !== 'credentials') wanted.push({ label: 'the admin secret access key', value: adminSecret });
        for (const hit of findIn(file, wanted)) hits.push(`${hit} in ${name} (${when})`);
      }
      assert.deepEqual(hits, []);
    };
    scan('while the server runs');
    await stop();
    scan('after the server stopped');

    // Nor do the server's logs.
    const logs = Buffer.from(outputs.join('\n'), 'utf8');
    const inLogs = secrets.flatMap((s) =>
      encodings(s.value)
        .filter(([, n]) => logs.includes(n))
        .map(([e]) => `${s.label} (${e})`),
    );
    assert.deepEqual(inLogs, []);
  });

  it('keeps root.key and credentials readable by their owner only', () => {
    for (const name of ['root.key', 'credentials']) {
      const mode = statSync(join(dataDir, name)).mode & 0o777;
      assert.equal(mode, 0o600, `${name} has mode ${mode.toString(8)}`);
    }
  });

  it('refuses to start with another root key, or none, and says why', async () => {
    assert.equal(running, undefined);
    const otherKey = randomBytes(32).toString('base64');
    await assert.rejects(start({ TRENT_ROOT_KEY: otherKey }), (err: Error) => {
      assert.match(err.message, /^server exited with 1:/);
      assert.match(
        err.message,
        /The root key \(environment variable TRENT_ROOT_KEY\) is not the root key of this store\. Refusing to start\./,
      );
      return true;
    });

    const rootKeyFile = join(dataDir, 'root.key');
    const aside = join(dataDir, 'root.key.aside');
    renameSync(rootKeyFile, aside);
    try {
      await assert.rejects(start(), (err: Error) => {
        assert.match(err.message, /^server exited with 1:/);
        assert.match(
          err.message,
          /The root key \(file .*root\.key\) is missing, but this store holds keys wrapped under one\./,
        );
        return true;
      });
      assert.equal(existsSync(rootKeyFile), false, 'a new root key was made for a store that has one');
    } finally {
      renameSync(aside, rootKeyFile);
    }

    // The same root key from the environment is as good as the file; the store is unharmed.
    const sameKey = readFileSync(rootKeyFile, 'utf8').trim();
    const server = await start({ TRENT_ROOT_KEY: sameKey });
    const kms = server.client();
    try {
      await decryptAll(kms);
    } finally {
      kms.destroy();
    }
    await stop();
  });

  it('serves a pooled client that sits idle longer than Node’s default 5 s keep-alive', async () => {
    const server = await start();
    const agent = new CountingAgent({ keepAlive: true, maxSockets: 1 });
    const kms = new KMSClient({
      endpoint: server.url,
      region: REGION,
      credentials: server.credentials,
      maxAttempts: 1, // no retry may hide a reset socket
      requestHandler: { httpAgent: agent },
    });
    try {
      const blob = ciphertexts[0]?.blob;
      await kms.send(new ListKeysCommand({}));
      assert.equal(agent.created, 1);
      await sleep(6000);
      const out = await kms.send(new DecryptCommand({ CiphertextBlob: blob }));
      assert.deepEqual(bytes(out.Plaintext), ciphertexts[0]?.plaintext);
      assert.equal(agent.created, 1, 'the idle socket was not kept: the client had to open another');
    } finally {
      kms.destroy();
      agent.destroy();
    }
    await stop();
  });
});

/** An HTTP agent that counts the sockets it opens. */
class CountingAgent extends Agent {
  created = 0;

  override createConnection(
    options: ClientRequestArgs,
    callback?: (err: Error | null, stream: Duplex) => void,
  ): Duplex | null | undefined {
    this.created++;
    return super.createConnection(options, callback);
  }
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true })
    .map((f) => join(dir, String(f)))
    .filter((f) => statSync(f).isFile());
}

/**
 * The forms a secret could take on disk: raw bytes, hex (both cases), and base64 / base64url at
 * each of the three alignments it could have inside a longer encoded value.
 */
function encodings(value: Buffer): Array<[string, Buffer]> {
  const forms: Array<[string, string | Buffer]> = [
    ['raw', value],
    ['hex', value.toString('hex')],
    ['HEX', value.toString('hex').toUpperCase()],
  ];
  for (let shift = 0; shift < 3; shift++) {
    const text = Buffer.concat([Buffer.alloc(shift), value]).toString('base64');
    // The first quantum mixes in the bytes before the secret, the last one those after it.
    const core = text.slice(shift === 0 ? 0 : 4, text.length - 4);
    forms.push([shift === 0 ? 'base64' : `base64+${shift}`, core]);
    forms.push([shift === 0 ? 'base64url' : `base64url+${shift}`, core.replaceAll('+', '-').replaceAll('/', '_')]);
  }
  return forms.map(([name, form]) => [name, Buffer.isBuffer(form) ? form : Buffer.from(form, 'latin1')]);
}

function findIn(file: string, wanted: Array<{ label: string; value: Buffer }>): string[] {
  const content = readFileSync(file);
  const hits: string[] = [];
  for (const { label, value } of wanted) {
    const found = encodings(value).find(([, needle]) => content.includes(needle));
    if (found !== undefined) hits.push(`${label} (${found[0]})`);
  }
  return hits;
}
