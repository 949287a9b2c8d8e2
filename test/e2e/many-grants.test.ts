import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  CreateGrantCommand,
  CreateKeyCommand,
  DecryptCommand,
  EncryptCommand,
  type KMSClient,
  ListGrantsCommand,
  RetireGrantCommand,
} from '@aws-sdk/client-kms';
import { startServer, type TestServer } from '../helpers/server.js';
import { createAccessKey } from '../helpers/trent-cli.js';
import { rejectsWith } from './sdk-assert.js';

/**
 * A key with more than a thousand grants (AWS allows 50,000 a key): listing one grantee's grants
 * page by page, and grants made and retired among them, which take effect at once — the server
 * follows each change in what it caches instead of reading every grant of the key again, and the
 * change feed's report of the same change, a moment later, leaves it as it is. Then the same in a
 * server started again, which reads the grants of such a key by grantee as callers come.
 */
describe('a key with many grants', { timeout: 120_000 }, () => {
  let server: TestServer;
  let admin: KMSClient;
  let bob: KMSClient;
  let keyArn: string;
  let account: string;

  before(async () => {
    server = await startServer();
    admin = server.client();
    bob = server.client({ credentials: createAccessKey(server.dataDir, 'bob') });
    const { KeyMetadata } = await admin.send(new CreateKeyCommand({}));
    keyArn = KeyMetadata?.Arn ?? '';
    account = KeyMetadata?.AWSAccountId ?? '';
  });

  after(async () => {
    bob?.destroy();
    admin?.destroy();
    await server?.stop();
    if (server !== undefined) rmSync(server.dataDir, { recursive: true, force: true });
  });

  const bobArn = () => `arn:aws:iam::${account}:user/bob`;
  const encryptAsBob = () => bob.send(new EncryptCommand({ KeyId: keyArn, Plaintext: Buffer.from('x') }));
  const bobDenied = () =>
    rejectsWith(
      encryptAsBob(),
      'AccessDeniedException',
      `User: ${bobArn()} is not authorized to perform: kms:Encrypt on resource: ${keyArn} because no identity-based policy allows the kms:Encrypt action`,
    );

  it("lists one grantee's grants among 1,040 page by page", async () => {
    const bobs: string[] = [];
    for (let start = 0; start < 1040; start += 16) {
      const made = await Promise.all(
        Array.from({ length: 16 }, (_, j) => {
          const i = start + j;
          const grantee = i % 26 === 0 ? bobArn() : `arn:aws:iam::${account}:role/r${i}`;
          return admin
            .send(new CreateGrantCommand({ KeyId: keyArn, GranteePrincipal: grantee, Operations: ['Decrypt'] }))
            .then((g) => ({ grantee, id: g.GrantId ?? '' }));
        }),
      );
      for (const g of made) if (g.grantee === bobArn()) bobs.push(g.id);
    }
    assert.equal(bobs.length, 40);
    const listed: string[] = [];
    let marker: string | undefined;
    let pages = 0;
    do {
      const page = await admin.send(
        new ListGrantsCommand({ KeyId: keyArn, GranteePrincipal: bobArn(), Limit: 15, Marker: marker }),
      );
      pages++;
      assert.ok((page.Grants?.length ?? 0) <= 15);
      for (const g of page.Grants ?? []) {
        assert.equal(g.GranteePrincipal, bobArn());
        listed.push(g.GrantId ?? '');
      }
      assert.equal(page.Truncated, page.NextMarker !== undefined);
      marker = page.NextMarker;
    } while (marker !== undefined);
    assert.equal(pages, 3);
    assert.deepEqual(listed, [...bobs].sort());
  });

  it('a grant made or retired among them takes effect at once, and stays so', async () => {
    await bobDenied(); // Bob's grants allow Decrypt only
    const grant = await admin.send(
      new CreateGrantCommand({ KeyId: keyArn, GranteePrincipal: bobArn(), Operations: ['Encrypt'] }),
    );
    await encryptAsBob();
    await sleep(300); // the change feed reports the grant meanwhile
    await encryptAsBob();
    await admin.send(new RetireGrantCommand({ KeyId: keyArn, GrantId: grant.GrantId }));
    await bobDenied();
    await sleep(300);
    await bobDenied();
  });

  it('in a server started again, each caller finds its grants, and changes take effect at once', async () => {
    await server.stop();
    bob.destroy();
    admin.destroy();
    server = await startServer({ dataDir: server.dataDir });
    admin = server.client();
    bob = server.client({ credentials: createAccessKey(server.dataDir, 'bob') });
    const carol = server.client({ credentials: createAccessKey(server.dataDir, 'carol') });
    try {
      const { CiphertextBlob } = await admin.send(new EncryptCommand({ KeyId: keyArn, Plaintext: Buffer.from('x') }));
      const decrypted = await bob.send(new DecryptCommand({ CiphertextBlob })); // one of Bob's 40 grants
      assert.equal(Buffer.from(decrypted.Plaintext ?? []).toString(), 'x');
      await bobDenied();
      await rejectsWith(
        carol.send(new DecryptCommand({ CiphertextBlob })),
        'AccessDeniedException',
        /user\/carol is not authorized to perform: kms:Decrypt/,
      );
      // Made before Carol's grants were first read; Bob's were read already.
      const carols = await admin.send(
        new CreateGrantCommand({
          KeyId: keyArn,
          GranteePrincipal: `arn:aws:iam::${account}:user/carol`,
          Operations: ['Decrypt'],
        }),
      );
      const bobs = await admin.send(
        new CreateGrantCommand({ KeyId: keyArn, GranteePrincipal: bobArn(), Operations: ['Encrypt'] }),
      );
      await carol.send(new DecryptCommand({ CiphertextBlob }));
      await encryptAsBob();
      await admin.send(new RetireGrantCommand({ KeyId: keyArn, GrantId: bobs.GrantId }));
      await admin.send(new RetireGrantCommand({ KeyId: keyArn, GrantId: carols.GrantId }));
      await bobDenied();
      await rejectsWith(
        carol.send(new DecryptCommand({ CiphertextBlob })),
        'AccessDeniedException',
        /user\/carol is not authorized to perform: kms:Decrypt/,
      );
      await sleep(300); // the change feed reports the changes meanwhile
      await bobDenied();
      await bob.send(new DecryptCommand({ CiphertextBlob }));
    } finally {
      carol.destroy();
    }
  });
});
