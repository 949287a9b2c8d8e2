import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { type AddressInfo, connect } from 'node:net';
import { dirname, join, relative } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import {
  canonicalQuery,
  canonicalRequest,
  canonicalUri,
  checkRequestTime,
  checkScope,
  checkSignedHeaders,
  deriveSigningKey,
  formatAmzDate,
  type HeaderMap,
  type ParsedAuthorization,
  parseAmzDate,
  parseAuthorization,
  type RequestPieces,
  requestAmzDate,
  SigningKeyCache,
  sha256Hex,
  signature,
  signaturesEqual,
  signRequest,
  stringToSign,
  verifySignature,
} from '../../src/auth/sigv4.js';
import { IncompleteSignatureException, InvalidSignatureException, type KmsError } from '../../src/errors.js';

// --- The AWS SigV4 test suite ----------------------------------------------------------------

const ACCESS_KEY_ID = 'AKIDEXAMPLE';
const SECRET = 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY';
const REGION = 'us-east-1';
const SERVICE = 'service';

/** Tests run from dist/test/unit; the vectors stay in the source tree. */
function projectRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error('package.json not found above the test file');
    dir = parent;
  }
  return dir;
}

const VECTORS = join(projectRoot(), 'test', 'vectors', 'sigv4');

/** Every folder holding a `<name>.req` (post-sts-token and normalize-path nest theirs). */
function findCases(dir: string): string[] {
  const found: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (!entry.isDirectory()) continue;
    const sub = join(dir, entry.name);
    if (existsSync(join(sub, `${entry.name}.req`))) found.push(sub);
    found.push(...findCases(sub));
  }
  return found.sort();
}

interface RawRequest {
  method: string;
  path: string;
  query: string;
  /** Lower-case name → every value in order: the shape of Node's `req.headersDistinct`. */
  headers: Record<string, string[]>;
  body: string;
}

/**
 * Parses a .req/.sreq file. Files use '\n' (tolerate '\r\n'); the request target may contain a raw
 * space (get-space), so it runs from the first space to the last ' HTTP/'. A line starting with
 * whitespace continues the previous header (obs-fold, RFC 9112 §5.2): it is joined with a space.
 * Repeated headers keep every value, in order.
 */
function parseRawRequest(text: string): RawRequest {
  const normalized = text.replace(/\r\n/g, '\n');
  const blank = normalized.indexOf('\n\n');
  const head = blank === -1 ? normalized : normalized.slice(0, blank);
  const body = blank === -1 ? '' : normalized.slice(blank + 2);
  const [requestLine = '', ...headerLines] = head.split('\n');
  const firstSpace = requestLine.indexOf(' ');
  const target = requestLine.slice(firstSpace + 1, requestLine.lastIndexOf(' HTTP/'));
  const q = target.indexOf('?');

  const headers: Record<string, string[]> = {};
  let last: string[] | undefined;
  for (const line of headerLines) {
    if (line === '') continue; // a final '\n' with no body after it
    if (/^[ \t]/.test(line) && last !== undefined) {
      last[last.length - 1] += ` ${line}`;
      continue;
    }
    const colon = line.indexOf(':');
    const name = line.slice(0, colon).toLowerCase();
    const values = headers[name] ?? [];
    values.push(line.slice(colon + 1));
    headers[name] = values;
    last = values;
  }
  return {
    method: requestLine.slice(0, firstSpace),
    path: q === -1 ? target : target.slice(0, q),
    query: q === -1 ? '' : target.slice(q + 1),
    headers,
    body,
  };
}

function withoutAuthorization(headers: Record<string, string[]>): Record<string, string[]> {
  const { authorization: _, ...rest } = headers;
  return rest;
}

function pieces(req: RawRequest, headers: HeaderMap = req.headers): RequestPieces {
  return {
    method: req.method,
    path: req.path,
    query: req.query,
    headers,
    payloadHash: sha256Hex(req.body),
  };
}

/** The only header the vectors' signed requests add besides Authorization. */
const TOKEN = 'x-amz-security-token';

/**
 * Two cases sign something other than "every header of the .req": the token is not in the .req,
 * and the .sreq carries it. Any other case must be exactly .req + Authorization.
 */
const TOKEN_CASES: Record<string, 'signed' | 'added-after-signing'> = {
  // The signer holds temporary credentials and adds the token before signing, as the SDKs do.
  'get-vanilla-with-session-token': 'signed',
  // The token is appended after signing, so it is not covered by the signature.
  'post-sts-header-after': 'added-after-signing',
};

/**
 * A defect in the suite itself: this case's .sreq carries get-vanilla's Authorization (signature
 * 5fa00f…, computed without the token, while SignedHeaders names the token), not its own .authz.
 * Its .creq/.sts/.authz agree with each other and with us; its .sreq as shipped must be refused,
 * and is verified with the .authz signature instead.
 */
const SREQ_CARRIES_GET_VANILLA_SIGNATURE = 'get-vanilla-with-session-token';

function expectError(
  fn: () => unknown,
  type: typeof IncompleteSignatureException | typeof InvalidSignatureException,
  message?: string,
): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof type, `expected ${type.name}, got ${String(err)}`);
    if (message !== undefined) assert.equal((err as KmsError).message, message);
    return true;
  });
}

/** XOR 0x01 on the first non-whitespace character: a one-byte change that trimming cannot undo. */
function flipByte(value: string): string {
  const i = value.search(/\S/);
  assert.ok(i !== -1, `nothing to flip in '${value}'`);
  return value.slice(0, i) + String.fromCharCode(value.charCodeAt(i) ^ 1) + value.slice(i + 1);
}

/**
 * Changes the path so that its canonical form changes. Normalization can undo a flip ('/./' →
 * '///' is still '/'; anything before '..' vanishes), so flip the last character whose flip
 * shows, or add a character when none does ('/', '/example/..').
 */
function tamperPath(path: string): string {
  for (let i = path.length - 1; i >= 0; i--) {
    const flipped = path.slice(0, i) + String.fromCharCode(path.charCodeAt(i) ^ 1) + path.slice(i + 1);
    if (canonicalUri(flipped) !== canonicalUri(path)) return flipped;
  }
  return `${path}x`;
}

const cases = findCases(VECTORS);

describe('AWS SigV4 test suite', () => {
  it('exercises every .req in the folder', () => {
    const reqFiles = readdirSync(VECTORS, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.req'));
    assert.equal(cases.length, reqFiles.length);
    // 24 top-level cases, 8 under normalize-path/, 2 under post-sts-token/.
    assert.equal(cases.length, 34);
  });

  for (const dir of cases) {
    const name = dir.slice(dir.lastIndexOf('/') + 1);
    const read = (ext: string): string => readFileSync(join(dir, `${name}.${ext}`), 'utf8');

    describe(relative(VECTORS, dir), () => {
      const req = parseRawRequest(read('req'));
      const sreq = parseRawRequest(read('sreq'));
      const creq = read('creq');
      const sts = read('sts');
      const authz = read('authz');
      const parsed = parseAuthorization(authz);
      const amzDate = req.headers['x-amz-date']?.[0] ?? '';
      const tokenCase = TOKEN_CASES[name];
      const token = sreq.headers[TOKEN]?.[0];

      it('signs like the suite: exact .creq, .sts, signature and Authorization', () => {
        // The request the signer sees: the .req, plus the token when it signs one.
        const headers: Record<string, string[]> = { ...req.headers };
        if (tokenCase === 'signed') {
          assert.ok(token !== undefined && req.headers[TOKEN] === undefined);
          headers[TOKEN] = [token];
        }
        const signedHeaders = Object.keys(headers).sort();
        assert.deepEqual(parsed.signedHeaders, signedHeaders);

        const actualCreq = canonicalRequest({ ...pieces(req, headers), signedHeaders });
        assert.equal(actualCreq, creq);
        const scope = `20150830/${REGION}/${SERVICE}/aws4_request`;
        assert.equal(parsed.credentialScope, scope);
        const actualSts = stringToSign(amzDate, scope, actualCreq);
        assert.equal(actualSts, sts);
        const key = deriveSigningKey(SECRET, '20150830', REGION, SERVICE);
        assert.equal(signature(key, actualSts), parsed.signature);

        const authorization = signRequest({
          method: req.method,
          path: req.path,
          query: req.query,
          headers: req.headers,
          body: req.body,
          accessKeyId: ACCESS_KEY_ID,
          secret: SECRET,
          region: REGION,
          service: SERVICE,
          amzDate,
          ...(tokenCase === 'signed' && token !== undefined ? { sessionToken: token } : {}),
        });
        assert.equal(authorization, authz);
      });

      it('the .sreq is the .req plus Authorization (and the token where the case says so)', () => {
        const signedReqHeaders = withoutAuthorization(sreq.headers);
        const expected: Record<string, string[]> = { ...req.headers };
        if (tokenCase !== undefined) {
          assert.ok(token !== undefined, `${name} should carry a session token`);
          expected[TOKEN] = [token];
        }
        assert.deepEqual(signedReqHeaders, expected);
        assert.equal(sreq.body, req.body);
        assert.equal(sreq.path, req.path);
        assert.equal(sreq.query, req.query);
        if (name !== SREQ_CARRIES_GET_VANILLA_SIGNATURE) {
          assert.deepEqual(sreq.headers.authorization, [` ${authz}`]);
        }
      });

      const shipped = parseAuthorization(sreq.headers.authorization?.[0] ?? '');
      const sreqHeaders = withoutAuthorization(sreq.headers);
      const cache = new SigningKeyCache();

      if (name === SREQ_CARRIES_GET_VANILLA_SIGNATURE) {
        it("refuses the .sreq as shipped: it has get-vanilla's signature (suite defect)", () => {
          const vanilla = readFileSync(join(VECTORS, 'get-vanilla', 'get-vanilla.authz'), 'utf8');
          assert.equal(shipped.signature, parseAuthorization(vanilla).signature);
          assert.notEqual(shipped.signature, parsed.signature);
          assert.deepEqual(shipped.signedHeaders, parsed.signedHeaders);
          expectError(
            () => verifySignature(shipped, pieces(sreq, sreqHeaders), SECRET, amzDate, cache),
            InvalidSignatureException,
          );
        });
      }

      // Everything below verifies the .sreq; for the defective case, with its .authz signature.
      const sreqAuth = name === SREQ_CARRIES_GET_VANILLA_SIGNATURE ? parsed : shipped;
      const verify = (request: RequestPieces): void => verifySignature(sreqAuth, request, SECRET, amzDate, cache);

      it('accepts the .sreq', () => {
        const now = parseAmzDate(amzDate);
        assert.ok(now !== undefined);
        assert.equal(requestAmzDate(sreqHeaders), amzDate);
        checkRequestTime(amzDate, now, 15 * 60_000);
        checkScope(sreqAuth, amzDate, SERVICE, REGION);
        checkScope(sreqAuth, amzDate, SERVICE);
        verify(pieces(sreq, sreqHeaders));

        if (tokenCase === 'added-after-signing') {
          // The signature is valid, but the token is not covered by it: KMS requires the token
          // to be signed (reference §1.5), so the signed-header policy refuses this request.
          expectError(
            () => checkSignedHeaders(sreqAuth, sreqHeaders),
            InvalidSignatureException,
            "'X-Amz-Security-Token' must be a 'SignedHeader' in the AWS Authorization.",
          );
          // …and the reason it must: an unsigned header can be changed freely.
          const forged = { ...sreqHeaders, [TOKEN]: [flipByte(token ?? '')] };
          verify(pieces(sreq, forged));
        } else {
          checkSignedHeaders(sreqAuth, sreqHeaders);
        }
      });

      for (const header of sreqAuth.signedHeaders) {
        it(`refuses a one-byte change to signed header ${header}`, () => {
          const values = sreqHeaders[header];
          assert.ok(values !== undefined && values.length > 0);
          const tampered = [flipByte(values[0] ?? ''), ...values.slice(1)];
          expectError(() => verify(pieces(sreq, { ...sreqHeaders, [header]: tampered })), InvalidSignatureException);
        });
      }

      it('refuses a one-byte change to the body', () => {
        // Most cases have an empty body: there is no byte to flip, so add one.
        const body = sreq.body === '' ? 'x' : flipByte(sreq.body);
        expectError(
          () => verify({ ...pieces(sreq, sreqHeaders), payloadHash: sha256Hex(body) }),
          InvalidSignatureException,
        );
      });

      it('refuses a one-byte change to the path', () => {
        const path = tamperPath(sreq.path);
        assert.notEqual(canonicalUri(path), canonicalUri(sreq.path));
        expectError(() => verify({ ...pieces(sreq, sreqHeaders), path }), InvalidSignatureException);
      });

      it('refuses a change to the query and the method', () => {
        const query = sreq.query === '' ? 'x=1' : flipByte(sreq.query);
        expectError(() => verify({ ...pieces(sreq, sreqHeaders), query }), InvalidSignatureException);
        const method = sreq.method === 'GET' ? 'POST' : 'GET';
        expectError(() => verify({ ...pieces(sreq, sreqHeaders), method }), InvalidSignatureException);
      });

      it('refuses the right request under another secret or scope', () => {
        const wrongSecret = (): void =>
          verifySignature(sreqAuth, pieces(sreq, sreqHeaders), flipByte(SECRET), amzDate, cache);
        expectError(wrongSecret, InvalidSignatureException);
        const otherRegion = { ...sreqAuth, region: 'us-west-2' };
        otherRegion.credentialScope = `20150830/us-west-2/${SERVICE}/aws4_request`;
        expectError(
          () => verifySignature(otherRegion, pieces(sreq, sreqHeaders), SECRET, amzDate, cache),
          InvalidSignatureException,
        );
      });
    });
  }
});

describe('Node header handling (documented in sigv4.ts)', () => {
  const dir = join(VECTORS, 'get-header-key-duplicate');
  const sreq = parseRawRequest(readFileSync(join(dir, 'get-header-key-duplicate.sreq'), 'utf8'));
  const auth = parseAuthorization(sreq.headers.authorization?.[0] ?? '');
  const amzDate = '20150830T123600Z';
  const headers = withoutAuthorization(sreq.headers);

  it("req.headers' ', ' join of a repeated header does not verify; headersDistinct does", () => {
    // What Node's req.headers would hold: repeated values joined with ', '.
    const nodeJoined: HeaderMap = {};
    for (const [name, values] of Object.entries(headers)) nodeJoined[name] = values.join(', ');
    expectError(
      () => verifySignature(auth, pieces(sreq, nodeJoined), SECRET, amzDate, new SigningKeyCache()),
      InvalidSignatureException,
    );
    // What req.headersDistinct holds (arrays), and the equivalent ','-joined string.
    verifySignature(auth, pieces(sreq, headers), SECRET, amzDate, new SigningKeyCache());
    const commaJoined: HeaderMap = {};
    for (const [name, values] of Object.entries(headers)) commaJoined[name] = values.join(',');
    verifySignature(auth, pieces(sreq, commaJoined), SECRET, amzDate, new SigningKeyCache());
  });

  it('real node:http: headersDistinct verifies, obs-fold never reaches a handler', async () => {
    const seen: { headers: HeaderMap; distinct: HeaderMap; url: string }[] = [];
    const server = createServer((req, res) => {
      seen.push({ headers: req.headers, distinct: req.headersDistinct, url: req.url ?? '' });
      res.end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    /** Sends a vector over a socket (CRLF line ends) and returns the status line. */
    const send = (file: string): Promise<string> =>
      new Promise((resolve, reject) => {
        const text = readFileSync(file, 'utf8').replace(/\n/g, '\r\n');
        const socket = connect(port, '127.0.0.1', () => {
          socket.end(`${text}\r\nConnection: close\r\n\r\n`);
        });
        let response = '';
        socket.on('data', (chunk) => {
          response += String(chunk);
        });
        socket.on('close', () => resolve(response.slice(0, response.indexOf('\r\n'))));
        socket.on('error', reject);
      });
    try {
      assert.equal(await send(join(dir, 'get-header-key-duplicate.sreq')), 'HTTP/1.1 200 OK');
      const [got] = seen;
      assert.ok(got !== undefined);
      assert.equal(got.headers['my-header1'], 'value2, value2, value1');
      assert.deepEqual(got.distinct['my-header1'], ['value2', 'value2', 'value1']);
      const request = (h: HeaderMap): RequestPieces => ({
        method: 'GET',
        path: got.url,
        query: '',
        headers: h,
        payloadHash: sha256Hex(''),
      });
      const cache = new SigningKeyCache();
      expectError(() => verifySignature(auth, request(got.headers), SECRET, amzDate, cache), InvalidSignatureException);
      verifySignature(auth, request(got.distinct), SECRET, amzDate, cache);

      // Node's strict parser answers 400 to a folded header; the handler never runs.
      const multiline = join(VECTORS, 'get-header-value-multiline', 'get-header-value-multiline.sreq');
      assert.equal(await send(multiline), 'HTTP/1.1 400 Bad Request');
      assert.equal(seen.length, 1);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

// --- Canonical pieces ------------------------------------------------------------------------

describe('canonicalUri / canonicalQuery', () => {
  it('encodes an already-encoded path again (non-S3 rule)', () => {
    assert.equal(canonicalUri('/documents%20and%20settings/'), '/documents%2520and%2520settings/');
    assert.equal(canonicalUri(''), '/');
    assert.equal(canonicalUri('/a/b/..'), '/a');
    assert.equal(canonicalUri('/a/./b//c/'), '/a/b/c/');
    assert.equal(canonicalUri("/!'()*"), '/%21%27%28%29%2A');
  });

  it('decodes and re-encodes query parameters, sorted by name then value', () => {
    assert.equal(canonicalQuery(''), '');
    assert.equal(canonicalQuery('b=2&a=%7e&a=1&c'), 'a=1&a=~&b=2&c=');
    assert.equal(canonicalQuery('k=a+b%20c'), 'k=a%2Bb%20c');
    assert.equal(canonicalQuery('k=%zz&k2=%FF'), 'k=%25zz&k2=%FF');
  });
});

// --- parseAuthorization ----------------------------------------------------------------------

describe('parseAuthorization', () => {
  const good =
    'AWS4-HMAC-SHA256 Credential=AKID/20250102/us-east-1/kms/aws4_request, ' +
    'SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature=abc123';

  it('parses a well-formed header', () => {
    assert.deepEqual(parseAuthorization(good), {
      accessKeyId: 'AKID',
      date: '20250102',
      region: 'us-east-1',
      service: 'kms',
      terminator: 'aws4_request',
      credentialScope: '20250102/us-east-1/kms/aws4_request',
      signedHeaders: ['content-type', 'host', 'x-amz-date', 'x-amz-target'],
      signature: 'abc123',
    });
  });

  it('accepts parameters without spaces, in any order, and ignores unknown ones', () => {
    const h =
      'AWS4-HMAC-SHA256 Signature=ff,Foo=bar,SignedHeaders=host,' + 'Credential=K/20250102/us-east-1/kms/aws4_request';
    const parsed = parseAuthorization(h);
    assert.equal(parsed.signature, 'ff');
    assert.deepEqual(parsed.signedHeaders, ['host']);
  });

  it('refuses another algorithm', () => {
    expectError(
      () => parseAuthorization('AWS4-HMAC-SHA512 Credential=a/b/c/d/e'),
      IncompleteSignatureException,
      "Unsupported AWS 'algorithm': 'AWS4-HMAC-SHA512'.",
    );
    expectError(
      () => parseAuthorization('Bearer abc'),
      IncompleteSignatureException,
      "Unsupported AWS 'algorithm': 'Bearer'.",
    );
  });

  it('names a token without an equal sign', () => {
    const h = 'AWS4-HMAC-SHA256 FooBar, BazBurp';
    expectError(
      () => parseAuthorization(h),
      IncompleteSignatureException,
      `'FooBar' not a valid key=value pair (missing equal-sign) in Authorization header: '${h}'.`,
    );
    // A space inside the credential splits it into two tokens, as AWS reports it.
    const spaced = 'AWS4-HMAC-SHA256 Credential=not valid/20250102/us-east-1/kms/aws4_request';
    expectError(
      () => parseAuthorization(spaced),
      IncompleteSignatureException,
      "'valid/20250102/us-east-1/kms/aws4_request' not a valid key=value pair (missing " +
        `equal-sign) in Authorization header: '${spaced}'.`,
    );
  });

  it('lists every missing parameter', () => {
    const req = (p: string): string => `Authorization header requires '${p}' parameter.`;
    const noDate = "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.";
    const bare = 'AWS4-HMAC-SHA256';
    expectError(
      () => parseAuthorization(bare),
      IncompleteSignatureException,
      `${req('Credential')} ${req('Signature')} ${req('SignedHeaders')} Authorization=${bare}`,
    );
    const unknown = 'AWS4-HMAC-SHA256 Foo=Bar, Baz=Burp';
    expectError(
      () => parseAuthorization(unknown, false),
      IncompleteSignatureException,
      `${req('Credential')} ${req('Signature')} ${req('SignedHeaders')} ${noDate} ` + `Authorization=${unknown}`,
    );
    const credOnly = 'AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE';
    expectError(
      () => parseAuthorization(credOnly),
      IncompleteSignatureException,
      `${req('Signature')} ${req('SignedHeaders')} Authorization=${credOnly}`,
    );
    const noSigned = 'AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE, Signature=ABCDEF';
    expectError(
      () => parseAuthorization(noSigned),
      IncompleteSignatureException,
      `${req('SignedHeaders')} Authorization=${noSigned}`,
    );
    const complete = `${noSigned}, SignedHeaders=host`;
    expectError(
      () => parseAuthorization(complete, false),
      IncompleteSignatureException,
      `${noDate} Authorization=${complete}`,
    );
  });

  it('refuses a credential without exactly five parts', () => {
    for (const credential of ['AKIDEXAMPLE', 'A/20250102/us-east-1/kms', 'A/1/2/3/4/5', '']) {
      expectError(
        () => parseAuthorization(`AWS4-HMAC-SHA256 Credential=${credential}, SignedHeaders=host, Signature=a`),
        IncompleteSignatureException,
        'Credential must have exactly 5 slash-delimited elements, e.g. ' +
          `keyid/date/region/service/term, got '${credential}'`,
      );
    }
  });

  it('refuses a repeated parameter', () => {
    expectError(
      () => parseAuthorization(`${good}, Signature=def456`),
      IncompleteSignatureException,
      `Authorization header contains the 'Signature' parameter more than once. ` +
        `Authorization=${good}, Signature=def456`,
    );
  });

  it('keeps an empty SignedHeaders as an empty list (host check refuses it later)', () => {
    const parsed = parseAuthorization(
      'AWS4-HMAC-SHA256 Credential=K/20250102/us-east-1/kms/aws4_request, ' + 'SignedHeaders=, Signature=',
    );
    assert.deepEqual(parsed.signedHeaders, []);
    assert.equal(parsed.signature, '');
  });
});

// --- Time ------------------------------------------------------------------------------------

describe('parseAmzDate / requestAmzDate', () => {
  it('parses the basic format and nothing else', () => {
    assert.equal(parseAmzDate('20250102T030405Z')?.toISOString(), '2025-01-02T03:04:05.000Z');
    for (const bad of ['2025-01-02T03:04:05Z', '20250102T030405', '20250230T000000Z', '20250102T246000Z', '']) {
      assert.equal(parseAmzDate(bad), undefined, bad);
    }
    assert.equal(formatAmzDate(new Date('2025-01-02T03:04:05.999Z')), '20250102T030405Z');
  });

  it('takes X-Amz-Date, else converts Date', () => {
    assert.equal(requestAmzDate({ 'x-amz-date': '20250102T030405Z', date: 'x' }), '20250102T030405Z');
    assert.equal(requestAmzDate({ date: 'Thu, 02 Jan 2025 03:04:05 GMT' }), '20250102T030405Z');
    assert.equal(requestAmzDate({ date: 'garbage' }), 'garbage');
    assert.equal(requestAmzDate({}), undefined);
  });
});

describe('checkRequestTime', () => {
  const window = 15 * 60_000;

  it('refuses an expired signature with AWS message', () => {
    expectError(
      () => checkRequestTime('20250102T030405Z', new Date('2025-01-02T03:25:00Z'), window),
      InvalidSignatureException,
      'Signature expired: 20250102T030405Z is now earlier than 20250102T031000Z ' + '(20250102T032500Z - 15 min.)',
    );
  });

  it('refuses a signature from the future with AWS message', () => {
    expectError(
      () => checkRequestTime('20250102T034000Z', new Date('2025-01-02T03:15:00Z'), window),
      InvalidSignatureException,
      'Signature not yet current: 20250102T034000Z is still later than 20250102T033000Z ' +
        '(20250102T031500Z + 15 min.)',
    );
  });

  it('prints the configured window', () => {
    expectError(
      () => checkRequestTime('20250102T030000Z', new Date('2025-01-02T03:06:00Z'), 5 * 60_000),
      InvalidSignatureException,
      'Signature expired: 20250102T030000Z is now earlier than 20250102T030100Z ' + '(20250102T030600Z - 5 min.)',
    );
  });

  it('accepts the window inclusively, on whole seconds', () => {
    const now = new Date('2025-01-02T03:25:00.900Z');
    checkRequestTime('20250102T032500Z', now, window);
    checkRequestTime('20250102T031000Z', now, window);
    checkRequestTime('20250102T034000Z', now, window);
    expectError(() => checkRequestTime('20250102T030959Z', now, window), InvalidSignatureException);
    expectError(() => checkRequestTime('20250102T034001Z', now, window), InvalidSignatureException);
  });

  it('refuses a malformed timestamp', () => {
    expectError(
      () => checkRequestTime('2015/08/30T12/36/00Z', new Date(), window),
      IncompleteSignatureException,
      "Date must be in ISO-8601 'basic format'. Got '2015/08/30T12/36/00Z'. " +
        'See http://en.wikipedia.org/wiki/ISO_8601',
    );
  });
});

// --- Scope and signed headers ----------------------------------------------------------------

function parsedWith(scope: string, signedHeaders = 'host;x-amz-date'): ParsedAuthorization {
  return parseAuthorization(`AWS4-HMAC-SHA256 Credential=AKID/${scope}, SignedHeaders=${signedHeaders}, Signature=00`);
}

describe('checkScope', () => {
  const amzDate = '20250102T030405Z';

  it('accepts a matching scope', () => {
    checkScope(parsedWith('20250102/eu-central-1/kms/aws4_request'), amzDate, 'kms');
    checkScope(parsedWith('20250102/us-gov-west-1/kms/aws4_request'), amzDate, 'kms');
    checkScope(parsedWith('20250102/eu-west-3/kms/aws4_request'), amzDate, 'kms', 'eu-west-3');
  });

  it('refuses the wrong service', () => {
    expectError(
      () => checkScope(parsedWith('20250102/us-east-1/s3/aws4_request'), amzDate, 'kms'),
      InvalidSignatureException,
      "Credential should be scoped to correct service: 'kms'.",
    );
  });

  it('refuses a malformed region, or another region than the expected one', () => {
    for (const region of ['xx', 'US-EAST-1', 'us-east', 'useast1']) {
      expectError(
        () => checkScope(parsedWith(`20250102/${region}/kms/aws4_request`), amzDate, 'kms'),
        InvalidSignatureException,
        `Credential should be scoped to a valid region, not '${region}'.`,
      );
    }
    expectError(
      () => checkScope(parsedWith('20250102/us-west-2/kms/aws4_request'), amzDate, 'kms', 'us-east-1'),
      InvalidSignatureException,
      "Credential should be scoped to a valid region, not 'us-west-2'.",
    );
  });

  it('refuses a scope date other than the request date', () => {
    expectError(
      () => checkScope(parsedWith('20250101/us-east-1/kms/aws4_request'), amzDate, 'kms'),
      InvalidSignatureException,
      'Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from ' +
        "HTTP: '20250101' != '20250102', from '20250102T030405Z'.",
    );
  });

  it('refuses another terminator', () => {
    expectError(
      () => checkScope(parsedWith('20250102/us-east-1/kms/aws5_request'), amzDate, 'kms'),
      InvalidSignatureException,
      "Credential should be scoped with a valid terminator: 'aws4_request', not 'aws5_request'.",
    );
  });

  it('reports every problem at once, in AWS order', () => {
    expectError(
      () => checkScope(parsedWith('foobar/wrong-region/wrong-service/aws5_request'), amzDate, 'kms'),
      InvalidSignatureException,
      "Credential should be scoped to a valid region, not 'wrong-region'. " +
        "Credential should be scoped to correct service: 'kms'. " +
        "Credential should be scoped with a valid terminator: 'aws4_request', " +
        "not 'aws5_request'. " +
        'Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from ' +
        "HTTP: 'foobar' != '20250102', from '20250102T030405Z'.",
    );
  });
});

describe('checkSignedHeaders', () => {
  const scope = '20250102/us-east-1/kms/aws4_request';

  it('requires host', () => {
    for (const signed of ['x-amz-date', '']) {
      expectError(
        () => checkSignedHeaders(parsedWith(scope, signed), { host: 'h', 'x-amz-date': 'd' }),
        InvalidSignatureException,
        "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.",
      );
    }
  });

  it('requires x-amz-date, x-amz-security-token and x-amz-target to be signed when present', () => {
    const headers = {
      host: 'h',
      'x-amz-date': 'd',
      'x-amz-target': 't',
      'x-amz-security-token': 's',
    };
    checkSignedHeaders(parsedWith(scope, 'host;x-amz-date;x-amz-security-token;x-amz-target'), headers);
    checkSignedHeaders(parsedWith(scope, 'host'), { host: 'h', date: 'd' });
    const cases: [string, string][] = [
      ['host;x-amz-security-token;x-amz-target', 'X-Amz-Date'],
      ['host;x-amz-date;x-amz-target', 'X-Amz-Security-Token'],
      ['host;x-amz-date;x-amz-security-token', 'X-Amz-Target'],
    ];
    for (const [signed, missing] of cases) {
      expectError(
        () => checkSignedHeaders(parsedWith(scope, signed), headers),
        InvalidSignatureException,
        `'${missing}' must be a 'SignedHeader' in the AWS Authorization.`,
      );
    }
  });
});

// --- signaturesEqual and the cache -----------------------------------------------------------

describe('signaturesEqual', () => {
  it('compares exactly', () => {
    const a = 'a'.repeat(64);
    assert.equal(signaturesEqual(a, a), true);
    assert.equal(signaturesEqual(a, `${'a'.repeat(63)}b`), false);
    assert.equal(signaturesEqual(a, a.toUpperCase()), false);
    assert.equal(signaturesEqual(a, a.slice(1)), false);
    assert.equal(signaturesEqual('', ''), true);
    assert.equal(signaturesEqual('', a), false);
    // Equal character count, different byte length: no throw from timingSafeEqual.
    assert.equal(signaturesEqual('é', 'ab'), false);
  });
});

describe('SigningKeyCache', () => {
  const STS = 'AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\nabc';
  /** What a cached key signs `STS` to, against the signature of the key derived afresh. */
  const signs = (
    key: { hex(message: string): string },
    secret: string,
    date: string,
    region = REGION,
    service = SERVICE,
  ) => key.hex(STS) === signature(deriveSigningKey(secret, date, region, service), STS);

  it('returns the derived key, the same object on a hit', () => {
    const cache = new SigningKeyCache();
    const first = cache.get('AKID', SECRET, '20150830', REGION, SERVICE);
    assert.ok(signs(first, SECRET, '20150830'));
    assert.equal(cache.get('AKID', SECRET, '20150830', REGION, SERVICE), first);
    assert.equal(cache.size, 1);
  });

  it('derives a new key for a rotated secret, and for every other scope part', () => {
    const cache = new SigningKeyCache();
    const base = cache.get('AKID', SECRET, '20150830', REGION, SERVICE);
    const rotated = cache.get('AKID', `${SECRET}2`, '20150830', REGION, SERVICE);
    assert.notEqual(rotated.hex(STS), base.hex(STS));
    assert.ok(signs(rotated, `${SECRET}2`, '20150830'));
    assert.ok(signs(cache.get('AKID', SECRET, '20150831', REGION, SERVICE), SECRET, '20150831'));
    assert.ok(signs(cache.get('AKID', SECRET, '20150830', 'eu-west-1', SERVICE), SECRET, '20150830', 'eu-west-1'));
    assert.ok(signs(cache.get('AKID', SECRET, '20150830', REGION, 'kms'), SECRET, '20150830', REGION, 'kms'));
    cache.get('AKID2', SECRET, '20150830', REGION, SERVICE);
    // The rotated secret replaced the old secret's entry for the same scope.
    assert.equal(cache.size, 5);
    assert.equal(cache.get('AKID', SECRET, '20150830', REGION, SERVICE).hex(STS), base.hex(STS));
  });

  it('is bounded, and keeps the recently used entries', () => {
    const cache = new SigningKeyCache(4);
    const hot = cache.get('HOT', SECRET, '20150830', REGION, SERVICE);
    const x0 = cache.get('X0', SECRET, '20150830', REGION, SERVICE);
    for (let i = 1; i < 2000; i++) {
      cache.get(`X${i}`, SECRET, '20150830', REGION, SERVICE);
      // The same object: kept, not derived again.
      assert.equal(cache.get('HOT', SECRET, '20150830', REGION, SERVICE), hot);
      assert.ok(cache.size <= 4, String(cache.size));
    }
    // An entry not used since is gone: derived again, an equal key in a new object.
    const cold = cache.get('X0', SECRET, '20150830', REGION, SERVICE);
    assert.notEqual(cold, x0);
    assert.equal(cold.hex(STS), x0.hex(STS));
    assert.equal(new SigningKeyCache().size, 0);
    assert.throws(() => new SigningKeyCache(0), RangeError);
  });
});

// --- Round trip ------------------------------------------------------------------------------

describe('signRequest → verifySignature', () => {
  const amzDate = '20250102T030405Z';
  const body = '{"KeyId":"alias/test","Plaintext":"aGVsbG8="}';
  const headers: HeaderMap = {
    host: 'localhost:8443',
    'content-type': 'application/x-amz-json-1.1',
    'x-amz-target': 'TrentService.Encrypt',
    'x-amz-date': amzDate,
  };
  const sign = (extra: Partial<Parameters<typeof signRequest>[0]> = {}): string =>
    signRequest({
      method: 'POST',
      path: '/',
      headers,
      body,
      accessKeyId: 'AKIATRENT',
      secret: SECRET,
      region: 'eu-west-1',
      service: 'kms',
      amzDate,
      ...extra,
    });
  const request = (h: HeaderMap = headers, b = body): RequestPieces => ({
    method: 'POST',
    path: '/',
    query: '',
    headers: h,
    payloadHash: sha256Hex(b),
  });

  it('produces a header the verifier accepts, through every check', () => {
    const authorization = sign();
    const parsed = parseAuthorization(authorization);
    assert.deepEqual(parsed.signedHeaders, ['content-type', 'host', 'x-amz-date', 'x-amz-target']);
    checkSignedHeaders(parsed, headers);
    checkRequestTime(amzDate, new Date('2025-01-02T03:10:00Z'), 15 * 60_000);
    checkScope(parsed, amzDate, 'kms');
    verifySignature(parsed, request(), SECRET, amzDate, new SigningKeyCache());
  });

  it('signs the session token, and mixed-case header names as lower case', () => {
    const authorization = sign({
      headers: { Host: 'localhost:8443', 'X-Amz-Date': amzDate },
      sessionToken: 'token/with+chars==',
    });
    const parsed = parseAuthorization(authorization);
    assert.deepEqual(parsed.signedHeaders, ['host', 'x-amz-date', 'x-amz-security-token']);
    const received = {
      host: 'localhost:8443',
      'x-amz-date': amzDate,
      'x-amz-security-token': 'token/with+chars==',
    };
    checkSignedHeaders(parsed, received);
    verifySignature(parsed, request(received), SECRET, amzDate, new SigningKeyCache());
  });

  it('refuses a tampered body, target or secret with the AWS message', () => {
    const parsed = parseAuthorization(sign());
    const cache = new SigningKeyCache();
    const mismatch =
      'The request signature we calculated does not match the signature you provided. Check ' +
      'your AWS Secret Access Key and signing method. Consult the service documentation for ' +
      'details.';
    expectError(
      () => verifySignature(parsed, request(headers, body.replace('test', 'tesu')), SECRET, amzDate, cache),
      InvalidSignatureException,
      mismatch,
    );
    const retargeted = { ...headers, 'x-amz-target': 'TrentService.ScheduleKeyDeletion' };
    expectError(
      () => verifySignature(parsed, request(retargeted), SECRET, amzDate, cache),
      InvalidSignatureException,
      mismatch,
    );
    expectError(
      () => verifySignature(parsed, request(), 'another secret', amzDate, cache),
      InvalidSignatureException,
      mismatch,
    );
  });

  it('keeps the canonical request out of the client message but hashes it into detail', () => {
    const parsed = parseAuthorization(sign());
    const wrong = { ...parsed, signature: '0'.repeat(64) };
    try {
      verifySignature(wrong, request(), SECRET, amzDate, new SigningKeyCache());
      assert.fail('should have thrown');
    } catch (err) {
      assert.ok(err instanceof InvalidSignatureException);
      assert.equal(err.status, 400);
      const creq = canonicalRequest({ ...request(), signedHeaders: parsed.signedHeaders });
      assert.match(err.detail ?? '', new RegExp(sha256Hex(creq)));
      assert.doesNotMatch(err.message, /sha256/);
    }
  });
});
