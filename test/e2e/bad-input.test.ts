import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { Agent, type IncomingHttpHeaders, request } from 'node:http';
import { after, afterEach, before, describe, it } from 'node:test';
import { formatAmzDate, signRequest } from '../../src/auth/sigv4.js';
import { REGION, startServer, type TestServer } from '../helpers/server.js';

/**
 * Bad input of every kind, over raw HTTP and signed with our own signer: each gets AWS's error
 * code, HTTP status and (where AWS's is known) message, with the headers every response carries;
 * and after each, the server still serves and its data is unchanged.
 */

const CONTENT_TYPE = 'application/x-amz-json-1.1';
const MIB = 1024 * 1024;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const MISMATCH =
  'The request signature we calculated does not match the signature you provided. Check your ' +
  'AWS Secret Access Key and signing method. Consult the service documentation for details.';
const INVALID_TOKEN = 'The security token included in the request is invalid.';
const AMZ_DATE = '\\d{8}T\\d{6}Z';

interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
  /** Whether the request went over a kept-alive connection that had served another. */
  reusedSocket: boolean;
}

interface Credentials {
  accessKeyId: string;
  secretAccessKey: string;
}

interface SignOptions {
  credentials?: Credentials;
  region?: string;
  service?: string;
  amzDate?: string;
  sessionToken?: string;
  contentType?: string;
}

/**
 * POSTs to `/`, on a fresh connection unless an agent is given. `body` as one piece is sent with
 * Content-Length; `chunks` are sent with chunked transfer encoding and no Content-Length. Headers
 * as a list (`rawHeaders` form) are sent as listed, one line per pair, Content-Length included.
 */
function post(
  url: string,
  headers: Record<string, string> | string[],
  body: { whole: string | Buffer } | { chunks: Buffer[] },
  agent: Agent | false = false,
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    let replied = false;
    const req = request(url, { method: 'POST', path: '/', headers, agent }, (res) => {
      replied = true;
      const parts: Buffer[] = [];
      res.on('data', (d: Buffer) => parts.push(d));
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          text: Buffer.concat(parts).toString('utf8'),
          reusedSocket: req.reusedSocket,
        }),
      );
      res.on('error', reject);
    });
    // A server that answers before reading the whole body may close its side while we still
    // write: that is fine once the reply is in, and a failure before.
    req.on('error', (err) => {
      if (!replied) reject(err);
    });
    req.setTimeout(20_000, () => req.destroy(new Error('no reply within 20 s')));
    if ('whole' in body) {
      if (!Array.isArray(headers) && headers['content-length'] === undefined) {
        req.setHeader('content-length', Buffer.byteLength(body.whole));
      }
      req.end(body.whole);
    } else {
      for (const chunk of body.chunks) req.write(chunk);
      req.end();
    }
  });
}

/** Headers for a request signed as the AWS SDKs sign: host;x-amz-date;x-amz-target;content-type. */
function signedHeaders(
  url: string,
  defaults: Credentials,
  target: string | undefined,
  body: string | Buffer,
  options: SignOptions = {},
): Record<string, string> {
  const credentials = options.credentials ?? defaults;
  const amzDate = options.amzDate ?? formatAmzDate(new Date());
  const headers: Record<string, string> = {
    host: new URL(url).host,
    'x-amz-date': amzDate,
    'content-type': options.contentType ?? CONTENT_TYPE,
  };
  if (target !== undefined) headers['x-amz-target'] = target;
  if (options.sessionToken !== undefined) headers['x-amz-security-token'] = options.sessionToken;
  const authorization = signRequest({
    method: 'POST',
    path: '/',
    headers,
    body,
    accessKeyId: credentials.accessKeyId,
    secret: credentials.secretAccessKey,
    region: options.region ?? REGION,
    service: options.service ?? 'kms',
    amzDate,
  });
  return { ...headers, authorization };
}

/** The headers every response carries (DESIGN.md, "Every response"). */
function assertCommonHeaders(reply: Reply): void {
  assert.match(String(reply.headers['x-amzn-requestid']), UUID, 'x-amzn-RequestId');
  const date = Date.parse(String(reply.headers.date));
  assert.ok(Math.abs(date - Date.now()) < 60_000, `Date header ${reply.headers.date} is not now`);
}

/** An AWS-shaped error: status, headers, `{"__type", "message"}`. */
function assertError(reply: Reply, code: string, message: string | RegExp, status = 400): void {
  const shown = `${reply.status} ${JSON.stringify(reply.headers)}\n${reply.text}`;
  assert.equal(reply.status, status, shown);
  assertCommonHeaders(reply);
  assert.equal(reply.headers['x-amzn-errortype'], code, shown);
  assert.equal(reply.headers['content-type'], CONTENT_TYPE, shown);
  const body = JSON.parse(reply.text) as Record<string, unknown>;
  assert.equal(body.__type, code, shown);
  assert.equal(typeof body.message, 'string', shown);
  const text = body.message as string;
  assert.ok(text.length > 0, `empty message: ${shown}`);
  if (typeof message === 'string') assert.equal(text, message);
  else assert.match(text, message);
}

function assertOk(reply: Reply): Record<string, unknown> {
  assert.equal(reply.status, 200, reply.text);
  assertCommonHeaders(reply);
  return reply.text === '' ? {} : (JSON.parse(reply.text) as Record<string, unknown>);
}

/** A ValidationException message, whatever order AWS lists the violations in. */
function assertViolations(reply: Reply, violations: string[]): void {
  assertError(reply, 'ValidationException', /validation errors? detected: /);
  const text = (JSON.parse(reply.text) as { message: string }).message;
  const n = violations.length;
  const prefix = `${n} validation error${n === 1 ? '' : 's'} detected: `;
  assert.ok(text.startsWith(prefix), text);
  assert.deepEqual(text.slice(prefix.length).split('; ').sort(), [...violations].sort());
}

describe('bad input, secure mode', { timeout: 120_000 }, () => {
  let server: TestServer;
  let accountId = '';
  let keyId = '';
  let keyArn = '';
  let disabledArn = '';
  let ciphertext = '';
  const plaintext = Buffer.from('the data that must survive every bad request');

  function headersFor(target: string | undefined, body: string | Buffer, options?: SignOptions) {
    return signedHeaders(server.url, server.credentials, target, body, options);
  }

  /** A request signed as the SDKs sign it; only what `options` changes is wrong. */
  function send(operation: string, body: string | Buffer, options?: SignOptions): Promise<Reply> {
    return post(server.url, headersFor(`TrentService.${operation}`, body, options), {
      whole: body,
    });
  }

  async function call(operation: string, input: unknown): Promise<Record<string, unknown>> {
    return assertOk(await send(operation, JSON.stringify(input)));
  }

  before(async () => {
    server = await startServer();
    const created = (await call('CreateKey', { Description: 'survives bad input' })).KeyMetadata as Record<
      string,
      string
    >;
    keyId = created.KeyId as string;
    keyArn = created.Arn as string;
    accountId = created.AWSAccountId as string;
    const disabled = (await call('CreateKey', { Description: 'disabled' })).KeyMetadata as Record<string, string>;
    disabledArn = disabled.Arn as string;
    await call('DisableKey', { KeyId: disabledArn });
    const encrypted = await call('Encrypt', {
      KeyId: keyId,
      Plaintext: plaintext.toString('base64'),
      EncryptionContext: { case: 'bad-input' },
    });
    ciphertext = encrypted.CiphertextBlob as string;
  });

  after(async () => {
    await server?.destroy();
  });

  // After every bad request, the server still serves and the ciphertext still decrypts.
  afterEach(async () => {
    const decrypted = await call('Decrypt', {
      CiphertextBlob: ciphertext,
      EncryptionContext: { case: 'bad-input' },
    });
    assert.equal(decrypted.KeyId, keyArn);
    assert.deepEqual(Buffer.from(decrypted.Plaintext as string, 'base64'), plaintext);
  });

  describe('JSON that is not the input object', () => {
    const cases: [string, string, RegExp][] = [
      ['malformed JSON', '{"KeyId": "x", ', /not valid JSON/],
      ['a JSON array', '["KeyId"]', /must be a JSON object/],
      ['a JSON string', '"KeyId"', /must be a JSON object/],
      ['a JSON number', '42', /must be a JSON object/],
      ['JSON null', 'null', /must be a JSON object/],
      ['not JSON at all', 'KeyId=abc', /not valid JSON/],
    ];
    for (const [name, body, message] of cases) {
      it(`${name} → SerializationException`, async () => {
        assertError(await send('DescribeKey', body), 'SerializationException', message);
      });
    }
  });

  describe('a member of the wrong JSON type', () => {
    const cases: [string, string, Record<string, unknown>, RegExp][] = [
      ['KeyId a number', 'Encrypt', { KeyId: 123, Plaintext: 'aGk=' }, /a string at 'keyId', found a number/],
      [
        'Plaintext a number',
        'Encrypt',
        { KeyId: 'k', Plaintext: 42 },
        /a base64 string at 'plaintext', found a number/,
      ],
      [
        'EncryptionContext an array',
        'Encrypt',
        { KeyId: 'k', Plaintext: 'aGk=', EncryptionContext: ['a', 'b'] },
        /at 'encryptionContext', found a list/,
      ],
      [
        'an EncryptionContext value a number',
        'Encrypt',
        { KeyId: 'k', Plaintext: 'aGk=', EncryptionContext: { a: 1 } },
        /a string at 'encryptionContext\.a', found a number/,
      ],
      [
        'NumberOfBytes a string',
        'GenerateDataKey',
        { KeyId: 'k', NumberOfBytes: '32' },
        /an integer at 'numberOfBytes', found a string/,
      ],
      [
        'NumberOfBytes 1.5',
        'GenerateDataKey',
        { KeyId: 'k', NumberOfBytes: 1.5 },
        /an integer at 'numberOfBytes', found a number/,
      ],
      [
        'DryRun a string',
        'Encrypt',
        { KeyId: 'k', Plaintext: 'aGk=', DryRun: 'true' },
        /a boolean at 'dryRun', found a string/,
      ],
      ['Limit a boolean', 'ListKeys', { Limit: true }, /an integer at 'limit', found a boolean/],
    ];
    for (const [name, operation, input, message] of cases) {
      it(`${name} → SerializationException`, async () => {
        assertError(await send(operation, JSON.stringify(input)), 'SerializationException', message);
      });
    }
  });

  describe('bad base64', () => {
    it('in Plaintext → SerializationException', async () => {
      const body = JSON.stringify({ KeyId: keyId, Plaintext: 'not base64!' });
      assertError(await send('Encrypt', body), 'SerializationException', /'plaintext'.*base64/i);
    });

    it('in CiphertextBlob → SerializationException', async () => {
      const body = JSON.stringify({ CiphertextBlob: `${ciphertext.slice(0, -2)}@` });
      assertError(await send('Decrypt', body), 'SerializationException', /'ciphertextBlob'.*base64/i);
    });
  });

  describe('constraint violations', () => {
    it('a missing required member', async () => {
      assertError(
        await send('DescribeKey', '{}'),
        'ValidationException',
        '1 validation error detected: ' + "Value null at 'keyId' failed to satisfy constraint: Member must not be null",
      );
    });

    it('a required member sent as JSON null is missing too', async () => {
      assertViolations(await send('Encrypt', JSON.stringify({ KeyId: null, Plaintext: 'aGk=' })), [
        "Value null at 'keyId' failed to satisfy constraint: Member must not be null",
      ]);
    });

    it('two violations at once are reported together', async () => {
      assertViolations(await send('GenerateDataKey', JSON.stringify({ KeyId: '', NumberOfBytes: 2000 })), [
        "Value '' at 'keyId' failed to satisfy constraint: " + 'Member must have length greater than or equal to 1',
        "Value '2000' at 'numberOfBytes' failed to satisfy constraint: " +
          'Member must have value less than or equal to 1024',
      ]);
    });

    it('two missing members', async () => {
      assertViolations(await send('Encrypt', '{}'), [
        "Value null at 'keyId' failed to satisfy constraint: Member must not be null",
        "Value null at 'plaintext' failed to satisfy constraint: Member must not be null",
      ]);
    });

    it('the value of a sensitive member is left out of the message', async () => {
      const big = Buffer.alloc(4097).toString('base64');
      assertViolations(await send('Encrypt', JSON.stringify({ KeyId: keyId, Plaintext: big })), [
        "Value at 'plaintext' failed to satisfy constraint: " + 'Member must have length less than or equal to 4096',
      ]);
    });

    const enums: [string, string, string, Record<string, unknown>, string[]][] = [
      ['GenerateDataKey', 'keySpec', 'AES_512', { KeyId: 'k', KeySpec: 'AES_512' }, ['AES_256', 'AES_128']],
      [
        'CreateKey',
        'keyUsage',
        'RANDOM',
        { KeyUsage: 'RANDOM' },
        ['SIGN_VERIFY', 'ENCRYPT_DECRYPT', 'GENERATE_VERIFY_MAC', 'KEY_AGREEMENT'],
      ],
    ];
    for (const [operation, member, value, input, values] of enums) {
      it(`an enum violation (${member}) lists the enum set`, async () => {
        const reply = await send(operation, JSON.stringify(input));
        const pattern = new RegExp(
          `^1 validation error detected: Value '${value}' at '${member}' ` +
            'failed to satisfy constraint: ' +
            'Member must satisfy enum value set: \\[(.*)\\]$',
        );
        assertError(reply, 'ValidationException', pattern);
        const listed = pattern.exec((JSON.parse(reply.text) as { message: string }).message)?.[1]?.split(', ');
        assert.deepEqual([...(listed ?? [])].sort(), [...values].sort());
      });
    }
  });

  describe('body size', () => {
    function encryptBodyOfSize(size: number): string {
      const body = JSON.stringify({ KeyId: keyId, Plaintext: 'aGk=' });
      return body + ' '.repeat(size - body.length);
    }

    it('a body of exactly 1 MiB is served', async () => {
      const body = encryptBodyOfSize(MIB);
      assert.equal(Buffer.byteLength(body), MIB);
      const out = assertOk(await send('Encrypt', body));
      assert.equal(out.KeyId, keyArn);
    });

    it('a body over 1 MiB with Content-Length → 413, and the reply can be read', async () => {
      const body = encryptBodyOfSize(MIB + 1);
      const reply = await post(server.url, headersFor('TrentService.Encrypt', body), {
        whole: body,
      });
      assertError(reply, 'RequestEntityTooLargeException', /1048576 bytes/, 413);
    });

    it('a chunked body over 1 MiB, no Content-Length → 413, the reply can be read', async () => {
      const chunks = Array.from({ length: 40 }, () => Buffer.alloc(64 * 1024, 0x20));
      chunks.unshift(Buffer.from(`{"KeyId": "${keyId}", "Plaintext": "aGk="}`));
      const body = Buffer.concat(chunks);
      const headers = headersFor('TrentService.Encrypt', body);
      const reply = await post(server.url, headers, { chunks });
      assertError(reply, 'RequestEntityTooLargeException', /1048576 bytes/, 413);
    });

    it('4 MiB bodies are refused the same way, every time', async () => {
      const body = Buffer.alloc(4 * MIB, 0x20);
      const headers = headersFor('TrentService.Encrypt', body);
      for (let i = 0; i < 5; i++) {
        const chunks = Array.from({ length: 64 }, () => body.subarray(0, 64 * 1024));
        assertError(await post(server.url, headers, { whole: body }), 'RequestEntityTooLargeException', /1048576/, 413);
        assertError(await post(server.url, headers, { chunks }), 'RequestEntityTooLargeException', /1048576/, 413);
      }
    });

    it('a kept-alive connection serves the next request after a 413', async () => {
      const agent = new Agent({ keepAlive: true, maxSockets: 1 });
      try {
        const big = encryptBodyOfSize(2 * MIB);
        const refused = await post(server.url, headersFor('TrentService.Encrypt', big), { whole: big }, agent);
        assertError(refused, 'RequestEntityTooLargeException', /1048576 bytes/, 413);
        const body = JSON.stringify({ KeyId: keyId, Plaintext: 'aGk=' });
        const next = await post(server.url, headersFor('TrentService.Encrypt', body), { whole: body }, agent);
        assert.equal(assertOk(next).KeyId, keyArn);
        assert.equal(next.reusedSocket, true, 'the second request did not reuse the connection');
      } finally {
        agent.destroy();
      }
    });
  });

  describe('operation routing', () => {
    it('an unknown operation → UnknownOperationException', async () => {
      assertError(await send('Nope', '{}'), 'UnknownOperationException', /TrentService\.Nope/);
    });

    it('a target outside TrentService → UnknownOperationException', async () => {
      const headers = headersFor('KMS.Encrypt', '{}');
      assertError(await post(server.url, headers, { whole: '{}' }), 'UnknownOperationException', /KMS\.Encrypt/);
    });

    it('no X-Amz-Target → UnknownOperationException', async () => {
      const headers = headersFor(undefined, '{}');
      assertError(await post(server.url, headers, { whole: '{}' }), 'UnknownOperationException', /X-Amz-Target/);
    });

    it('a Content-Type not application/x-amz-json-1.1 → UnknownOperationException', async () => {
      const reply = await send('ListKeys', '{}', { contentType: 'application/json' });
      assertError(reply, 'UnknownOperationException', /Content-Type/);
    });
  });

  describe('authentication', () => {
    it('no Authorization → MissingAuthenticationTokenException', async () => {
      const { authorization: _, ...headers } = headersFor('TrentService.ListKeys', '{}');
      const reply = await post(server.url, headers, { whole: '{}' });
      assertError(reply, 'MissingAuthenticationTokenException', 'Missing Authentication Token');
    });

    it('an Authorization without Signature= → IncompleteSignatureException', async () => {
      const headers = headersFor('TrentService.ListKeys', '{}');
      headers.authorization = (headers.authorization as string).replace(/, Signature=[0-9a-f]+$/, '');
      const reply = await post(server.url, headers, { whole: '{}' });
      assertError(
        reply,
        'IncompleteSignatureException',
        "Authorization header requires 'Signature' parameter. " + `Authorization=${headers.authorization}`,
      );
    });

    it('a garbage Authorization → IncompleteSignatureException', async () => {
      const headers = {
        ...headersFor('TrentService.ListKeys', '{}'),
        authorization: 'AWS4-HMAC-SHA256 garbage',
      };
      const reply = await post(server.url, headers, { whole: '{}' });
      assertError(
        reply,
        'IncompleteSignatureException',
        "'garbage' not a valid key=value pair (missing equal-sign) in Authorization header: " +
          "'AWS4-HMAC-SHA256 garbage'.",
      );
    });

    it('another scheme in Authorization → IncompleteSignatureException', async () => {
      const headers = {
        ...headersFor('TrentService.ListKeys', '{}'),
        authorization: 'Basic dXNlcjpwYXNz',
      };
      const reply = await post(server.url, headers, { whole: '{}' });
      assertError(reply, 'IncompleteSignatureException', /Basic/);
    });

    it('an unknown access key → UnrecognizedClientException', async () => {
      const reply = await send('ListKeys', '{}', {
        credentials: {
          accessKeyId: 'AKIAUNKNOWNUNKNOWN00',
          secretAccessKey: server.credentials.secretAccessKey,
        },
      });
      assertError(reply, 'UnrecognizedClientException', INVALID_TOKEN);
    });

    it('a wrong secret → InvalidSignatureException', async () => {
      const reply = await send('ListKeys', '{}', {
        credentials: {
          accessKeyId: server.credentials.accessKeyId,
          secretAccessKey: 'not-the-secret',
        },
      });
      assertError(reply, 'InvalidSignatureException', MISMATCH);
    });

    it('a body changed after signing → InvalidSignatureException', async () => {
      const signed = JSON.stringify({ KeyId: keyId, Plaintext: 'aGk=' });
      const sent = JSON.stringify({ KeyId: keyId, Plaintext: 'aGo=' });
      const reply = await post(server.url, headersFor('TrentService.Encrypt', signed), {
        whole: sent,
      });
      assertError(reply, 'InvalidSignatureException', MISMATCH);
    });

    it('a target changed after signing → InvalidSignatureException', async () => {
      const headers = headersFor('TrentService.DescribeKey', '{}');
      headers['x-amz-target'] = 'TrentService.ListKeys';
      assertError(await post(server.url, headers, { whole: '{}' }), 'InvalidSignatureException', MISMATCH);
    });

    /**
     * ListKeys with `x-trent-note` sent twice, in two cases of its name, signed with `signed` as
     * that header's value(s): SigV4 joins a repeated header's values with ',' in the order sent.
     */
    function listKeysWithNoteTwice(signed: string | string[]): Promise<Reply> {
      const host = new URL(server.url).host;
      const amzDate = formatAmzDate(new Date());
      const signedHeaders = {
        host,
        'x-amz-date': amzDate,
        'content-type': CONTENT_TYPE,
        'x-amz-target': 'TrentService.ListKeys',
        'x-trent-note': signed,
      };
      const authorization = signRequest({
        method: 'POST',
        path: '/',
        headers: signedHeaders,
        body: '{}',
        accessKeyId: server.credentials.accessKeyId,
        secret: server.credentials.secretAccessKey,
        region: REGION,
        service: 'kms',
        amzDate,
      });
      const raw = [
        ...['host', host, 'x-amz-date', amzDate, 'content-type', CONTENT_TYPE],
        ...['x-amz-target', 'TrentService.ListKeys', 'x-trent-note', 'first', 'X-Trent-Note', 'second'],
        ...['authorization', authorization, 'content-length', '2'],
      ];
      return post(server.url, raw, { whole: '{}' });
    }

    it('a signed header sent twice is verified with both values, in order', async () => {
      assertOk(await listKeysWithNoteTwice(['first', 'second']));
    });

    it("a header sent twice, signed as Node joins it ('a, b') → InvalidSignatureException", async () => {
      assertError(await listKeysWithNoteTwice('first, second'), 'InvalidSignatureException', MISMATCH);
    });

    it('a header sent twice, signed in the other order → InvalidSignatureException', async () => {
      assertError(await listKeysWithNoteTwice(['second', 'first']), 'InvalidSignatureException', MISMATCH);
    });

    it('X-Amz-Date 20 minutes old → Signature expired', async () => {
      const amzDate = formatAmzDate(new Date(Date.now() - 20 * 60_000));
      const reply = await send('ListKeys', '{}', { amzDate });
      assertError(
        reply,
        'InvalidSignatureException',
        new RegExp(
          `^Signature expired: ${amzDate} is now earlier than ` + `${AMZ_DATE} \\(${AMZ_DATE} - 15 min\\.\\)$`,
        ),
      );
    });

    it('X-Amz-Date 20 minutes ahead → Signature not yet current', async () => {
      const amzDate = formatAmzDate(new Date(Date.now() + 20 * 60_000));
      const reply = await send('ListKeys', '{}', { amzDate });
      assertError(
        reply,
        'InvalidSignatureException',
        new RegExp(
          `^Signature not yet current: ${amzDate} is still later than ` +
            `${AMZ_DATE} \\(${AMZ_DATE} \\+ 15 min\\.\\)$`,
        ),
      );
    });

    it('a credential scoped to s3 → InvalidSignatureException', async () => {
      const reply = await send('ListKeys', '{}', { service: 's3' });
      assertError(reply, 'InvalidSignatureException', "Credential should be scoped to correct service: 'kms'.");
    });

    it('a session token in secure mode → UnrecognizedClientException', async () => {
      const reply = await send('ListKeys', '{}', { sessionToken: 'FwoGZXIvYXdzEXAMPLETOKEN' });
      assertError(reply, 'UnrecognizedClientException', INVALID_TOKEN);
    });
  });

  describe('which error wins', () => {
    it('an unknown operation without auth → UnknownOperationException', async () => {
      const { authorization: _, ...headers } = headersFor('TrentService.Nope', '{}');
      assertError(await post(server.url, headers, { whole: '{}' }), 'UnknownOperationException', /Nope/);
    });

    it('no X-Amz-Target and a bad signature → UnknownOperationException', async () => {
      const headers = headersFor(undefined, '{}', {
        credentials: { accessKeyId: server.credentials.accessKeyId, secretAccessKey: 'wrong' },
      });
      assertError(await post(server.url, headers, { whole: '{}' }), 'UnknownOperationException', /X-Amz-Target/);
    });

    it('an oversized body with an unknown operation and no auth → 413', async () => {
      const headers = {
        host: new URL(server.url).host,
        'content-type': CONTENT_TYPE,
        'x-amz-target': 'TrentService.Nope',
      };
      const reply = await post(server.url, headers, { whole: Buffer.alloc(MIB + 1, 0x20) });
      assertError(reply, 'RequestEntityTooLargeException', /1048576 bytes/, 413);
    });

    it('a wrong secret with malformed JSON → InvalidSignatureException', async () => {
      const reply = await send('Encrypt', '{"KeyId": ', {
        credentials: { accessKeyId: server.credentials.accessKeyId, secretAccessKey: 'wrong' },
      });
      assertError(reply, 'InvalidSignatureException', MISMATCH);
    });

    it('no auth with malformed JSON → MissingAuthenticationTokenException', async () => {
      const { authorization: _, ...headers } = headersFor('TrentService.Encrypt', '{"KeyId": ');
      const reply = await post(server.url, headers, { whole: '{"KeyId": ' });
      assertError(reply, 'MissingAuthenticationTokenException', 'Missing Authentication Token');
    });

    it('unknown access key and a constraint violation → UnrecognizedClientException', async () => {
      const reply = await send('DescribeKey', '{}', {
        credentials: { accessKeyId: 'AKIAUNKNOWNUNKNOWN00', secretAccessKey: 'x' },
      });
      assertError(reply, 'UnrecognizedClientException', INVALID_TOKEN);
    });

    it('malformed JSON naming an unknown key → SerializationException', async () => {
      const reply = await send('Encrypt', `{"KeyId": "${randomUUID()}", "Plaintext": `);
      assertError(reply, 'SerializationException', /not valid JSON/);
    });

    it('a wrong type beside a constraint violation → SerializationException', async () => {
      const reply = await send('Encrypt', JSON.stringify({ KeyId: '', Plaintext: 5 }));
      assertError(reply, 'SerializationException', /'plaintext'/);
    });

    it('a constraint violation on an unknown key → ValidationException', async () => {
      const reply = await send('Encrypt', JSON.stringify({ KeyId: 'alias/nope', Plaintext: '' }));
      assertViolations(reply, [
        "Value at 'plaintext' failed to satisfy constraint: " + 'Member must have length greater than or equal to 1',
      ]);
    });

    it('DryRun on an unknown key → NotFoundException, not DryRunOperationException', async () => {
      const reply = await send('Encrypt', JSON.stringify({ KeyId: 'alias/nope', Plaintext: 'aGk=', DryRun: true }));
      assertError(reply, 'NotFoundException', `Alias arn:aws:kms:${REGION}:${accountId}:alias/nope is not found.`);
    });
  });

  describe('key resolution and state', () => {
    it('an unknown key id → NotFoundException', async () => {
      const unknown = randomUUID();
      const reply = await send('Encrypt', JSON.stringify({ KeyId: unknown, Plaintext: 'aGk=' }));
      assertError(reply, 'NotFoundException', `Key 'arn:aws:kms:${REGION}:${accountId}:key/${unknown}' does not exist`);
    });

    it('a key id that is no key id → NotFoundException', async () => {
      const reply = await send('DescribeKey', JSON.stringify({ KeyId: 'fake-key-id' }));
      assertError(reply, 'NotFoundException', "Invalid keyId 'fake-key-id'");
    });

    it('a disabled key → DisabledException', async () => {
      const reply = await send('Encrypt', JSON.stringify({ KeyId: disabledArn, Plaintext: 'aGk=' }));
      assertError(reply, 'DisabledException', `${disabledArn} is disabled.`);
    });
  });

  describe('afterwards', () => {
    it('ListKeys shows exactly the keys made at the start, in their states', async () => {
      const listed = (await call('ListKeys', {})).Keys as { KeyId: string; KeyArn: string }[];
      assert.deepEqual(listed.map((k) => k.KeyArn).sort(), [keyArn, disabledArn].sort());
      const main = (await call('DescribeKey', { KeyId: keyId })).KeyMetadata as Record<string, unknown>;
      assert.equal(main.KeyState, 'Enabled');
      assert.equal(main.Description, 'survives bad input');
      const disabled = (await call('DescribeKey', { KeyId: disabledArn })).KeyMetadata as Record<string, unknown>;
      assert.equal(disabled.KeyState, 'Disabled');
      const aliases = (await call('ListAliases', {})).Aliases as unknown[];
      assert.deepEqual(aliases, []);
    });
  });
});

describe('bad input, dev mode', { timeout: 60_000 }, () => {
  let server: TestServer;
  const anyone = { accessKeyId: 'AKIAANYONEATALL00000', secretAccessKey: 'anything' };
  const someoneElse = { accessKeyId: 'dev-key', secretAccessKey: 'something else' };

  function send(operation: string, body: string, options: SignOptions): Promise<Reply> {
    const headers = signedHeaders(server.url, anyone, `TrentService.${operation}`, body, options);
    return post(server.url, headers, { whole: body });
  }

  before(async () => {
    server = await startServer({ args: ['--dev'] });
  });

  after(async () => {
    await server?.destroy();
  });

  it('any access key and any secret work, and all map to one account', async () => {
    const created = assertOk(await send('CreateKey', '{}', { credentials: anyone }));
    const arn = (created.KeyMetadata as { Arn: string }).Arn;
    const listed = assertOk(await send('ListKeys', '{}', { credentials: someoneElse }));
    assert.deepEqual(
      (listed.Keys as { KeyArn: string }[]).map((k) => k.KeyArn),
      [arn],
    );
  });

  it('any signature works', async () => {
    const headers = signedHeaders(server.url, anyone, 'TrentService.ListKeys', '{}');
    headers.authorization = (headers.authorization as string).replace(
      /Signature=[0-9a-f]+$/,
      `Signature=${'0'.repeat(64)}`,
    );
    assertOk(await post(server.url, headers, { whole: '{}' }));
  });

  it('a body changed after signing is still served', async () => {
    const headers = signedHeaders(server.url, anyone, 'TrentService.ListKeys', '{"Limit": 5}');
    assertOk(await post(server.url, headers, { whole: '{"Limit": 6}' }));
  });

  it('Authorization is still parsed: no Credential → IncompleteSignatureException', async () => {
    const headers = signedHeaders(server.url, anyone, 'TrentService.ListKeys', '{}');
    headers.authorization = (headers.authorization as string).replace(/Credential=\S+ /, '');
    assertError(
      await post(server.url, headers, { whole: '{}' }),
      'IncompleteSignatureException',
      "Authorization header requires 'Credential' parameter. " + `Authorization=${headers.authorization}`,
    );
  });

  it('no Authorization is still MissingAuthenticationTokenException', async () => {
    const { authorization: _, ...headers } = signedHeaders(server.url, anyone, 'TrentService.ListKeys', '{}');
    const reply = await post(server.url, headers, { whole: '{}' });
    assertError(reply, 'MissingAuthenticationTokenException', 'Missing Authentication Token');
  });

  it('the credential scope is still checked', async () => {
    const reply = await send('ListKeys', '{}', { credentials: anyone, service: 's3' });
    assertError(reply, 'InvalidSignatureException', "Credential should be scoped to correct service: 'kms'.");
  });

  it('bad JSON is still SerializationException', async () => {
    assertError(await send('ListKeys', '[]', { credentials: anyone }), 'SerializationException', /JSON object/);
  });
});
