import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { BlobOutput, blobOutput } from '../../src/wire/blob-output.js';
import { replyJson, sendResult } from '../../src/wire/reply.js';

/** A reply's JSON is JSON.stringify's, with blob members written from their base64 text as they are. */
describe('replyJson', () => {
  it('writes what JSON.stringify writes for outputs without blobs', () => {
    const outputs: unknown[] = [
      {},
      { KeyId: 'arn:aws:kms:us-east-1:111122223333:key/1', Truncated: false, NextMarker: undefined },
      { KeyMetadata: { Description: 'ü "quoted" \n \u2028 \ud800', CreationDate: 1.5, Tags: [{ a: 1 }, null] } },
      { '10': 'x', '9': 'y', b: [undefined, () => 1], c: () => 1, d: null, e: Number.NaN, f: -0 },
      [1, 'two'],
      'text',
      7,
      null,
    ];
    for (const output of outputs) assert.equal(replyJson(output), JSON.stringify(output));
  });

  it('writes a blob member as its base64 text, in the member order given', () => {
    const bytes = randomBytes(1025);
    const output = { CiphertextBlob: blobOutput(bytes), KeyId: 'k', EncryptionAlgorithm: 'SYMMETRIC_DEFAULT' };
    const text = replyJson(output);
    assert.equal(text, JSON.stringify(output));
    assert.deepEqual(JSON.parse(text), {
      CiphertextBlob: bytes.toString('base64'),
      KeyId: 'k',
      EncryptionAlgorithm: 'SYMMETRIC_DEFAULT',
    });
  });

  it('keeps the base64 text after the bytes are zeroed, as operations zero plaintext at once', () => {
    const plaintext = Buffer.from('a data key');
    const blob = new BlobOutput(plaintext);
    plaintext.fill(0);
    assert.equal(JSON.parse(replyJson({ Plaintext: blob })).Plaintext, Buffer.from('a data key').toString('base64'));
  });
});

/** Over a real socket, as a client reads it: the Content-Length counts bytes, not characters. */
describe('sendResult', () => {
  it('sends the JSON with a Content-Length of its UTF-8 bytes', async () => {
    const output = {
      KeyMetadata: { Description: 'é€😀 — bytes beyond ASCII' },
      Plaintext: blobOutput(randomBytes(40)),
    };
    const server = createServer((_req, res) => sendResult(res, 'request-1', output));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const reply = await fetch(`http://127.0.0.1:${port}/`, { method: 'POST' });
      const bytes = Buffer.from(await reply.arrayBuffer());
      assert.equal(reply.status, 200);
      assert.equal(reply.headers.get('x-amzn-requestid'), 'request-1');
      assert.equal(reply.headers.get('content-type'), 'application/x-amz-json-1.1');
      assert.equal(Number(reply.headers.get('content-length')), bytes.length);
      assert.ok(bytes.length > replyJson(output).length, 'the text has characters of more than one byte');
      assert.deepEqual(JSON.parse(bytes.toString('utf8')), JSON.parse(replyJson(output)));
    } finally {
      server.close();
    }
  });
});
