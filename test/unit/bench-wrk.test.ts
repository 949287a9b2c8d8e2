import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { runWrk } from '../../bench/wrk.js';

// wrk itself (Debian's package, installed by .ci/run), against a node:http server that records
// what reached it: the bench's figures are only as good as the requests wrk sends.
describe('runWrk', () => {
  let server: Server;
  let url: URL;
  let status = 200;
  const seen: {
    headers: IncomingHttpHeaders;
    rawHeaders: string[];
    body: string;
    method: string | undefined;
    path: string | undefined;
  }[] = [];

  before(async () => {
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        if (seen.length < 10) {
          const body = Buffer.concat(chunks).toString();
          seen.push({ headers: req.headers, rawHeaders: req.rawHeaders, body, method: req.method, path: req.url });
        }
        res.writeHead(status, { 'content-type': 'application/x-amz-json-1.1' }).end('{}');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
  });

  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('sends the signed request as given, byte for byte, and reports what it measured', async () => {
    // Quotes, a backslash, a newline and non-ASCII: what a Lua string literal must escape.
    const body = JSON.stringify({ KeyId: 'alias/a"b\\c', Plaintext: 'line\nbreak é ✓' });
    const headers = {
      host: url.host,
      'content-type': 'application/x-amz-json-1.1',
      'x-amz-target': 'TrentService.Encrypt',
      'x-amz-date': '20261127T120000Z',
      authorization: 'AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261127/us-east-1/kms/aws4_request, Signature=ab"c',
      'content-length': String(Buffer.byteLength(body)),
    };
    seen.length = 0;
    status = 200;
    const summary = await runWrk({ url, headers, body, connections: 2, seconds: 1 });

    assert.ok(summary.requests > 0, `no requests: ${JSON.stringify(summary)}`);
    assert.equal(summary.statusErrors, 0);
    assert.deepEqual(summary.socketErrors, { connect: 0, read: 0, write: 0, timeout: 0 });
    assert.ok(summary.durationMs >= 900 && summary.durationMs < 3000, `duration ${summary.durationMs}`);
    assert.ok(summary.p50Ms > 0 && summary.p50Ms <= summary.p99Ms && summary.p99Ms <= summary.maxMs);

    const first = seen[0];
    assert.ok(first !== undefined);
    assert.equal(first.method, 'POST');
    assert.equal(first.path, '/');
    assert.equal(first.body, body);
    for (const [name, value] of Object.entries(headers)) assert.equal(first.headers[name], value, name);
    // node keeps the first of two Host headers; a SigV4 server refuses the request.
    const names = first.rawHeaders.filter((_, i) => i % 2 === 0).map((n) => n.toLowerCase());
    assert.equal(names.filter((n) => n === 'host').length, 1, `headers sent: ${names.join(', ')}`);
  });

  it('counts every failed reply as an error', async () => {
    status = 400;
    const summary = await runWrk({ url, headers: { host: url.host }, body: '{}', connections: 1, seconds: 1 });
    assert.ok(summary.requests > 0);
    assert.equal(summary.statusErrors, summary.requests);
  });
});
