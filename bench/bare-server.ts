import cluster from 'node:cluster';
import { createCipheriv, createDecipheriv, randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * The "bare limit" of DESIGN.md's performance budget: node's HTTP server plus one AES-256-GCM per
 * request, and nothing else — no SigV4, no policy, no validation beyond JSON.parse, no audit. Trent
 * cannot beat it on this machine; the gap between the two is what Trent's own code costs.
 *
 * It answers the four calls the benchmark makes (CreateKey, Encrypt, Decrypt, GenerateDataKey)
 * with AWS JSON 1.1 shapes, so the benchmark drives it like any other target. Run as its own
 * process: `node dist/bench/bare-server.js [--workers N]`; it prints `{"url":…}` once listening.
 * With N > 1, N node:cluster workers share the port (as `trent server --workers N` does) and the
 * one key the primary hands down, so a ciphertext made by one worker decrypts on any other.
 */
const KEY = process.env.BARE_KEY === undefined ? randomBytes(32) : Buffer.from(process.env.BARE_KEY, 'hex');
const KEY_ID = process.env.BARE_KEY_ID ?? randomUUID();
const IV_LENGTH = 12;
const TAG_LENGTH = 16;

type Handler = (input: Record<string, unknown>) => object;

const HANDLERS: Record<string, Handler> = {
  CreateKey: () => ({ KeyMetadata: { KeyId: KEY_ID } }),
  Encrypt: (input) => ({ KeyId: KEY_ID, CiphertextBlob: base64(seal(bytes(input.Plaintext))) }),
  Decrypt: (input) => ({ KeyId: KEY_ID, Plaintext: base64(open(bytes(input.CiphertextBlob))) }),
  GenerateDataKey: (input) => {
    const plaintext = randomBytes(Number(input.NumberOfBytes ?? 32));
    return {
      KeyId: KEY_ID,
      Plaintext: base64(plaintext),
      CiphertextBlob: base64(seal(plaintext)),
    };
  },
};

function seal(plaintext: Buffer): Buffer {
  const iv = randomBytes(IV_LENGTH);
  const cipher = createCipheriv('aes-256-gcm', KEY, iv, { authTagLength: TAG_LENGTH });
  const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return Buffer.concat([iv, cipher.getAuthTag(), ciphertext]);
}

function open(blob: Buffer): Buffer {
  const decipher = createDecipheriv('aes-256-gcm', KEY, blob.subarray(0, IV_LENGTH), {
    authTagLength: TAG_LENGTH,
  });
  decipher.setAuthTag(blob.subarray(IV_LENGTH, IV_LENGTH + TAG_LENGTH));
  return Buffer.concat([decipher.update(blob.subarray(IV_LENGTH + TAG_LENGTH)), decipher.final()]);
}

function base64(bytes: Buffer): string {
  return bytes.toString('base64');
}

/** A base64 field of the request, decoded. */
function bytes(value: unknown): Buffer {
  return Buffer.from(typeof value === 'string' ? value : '', 'base64');
}

function handle(req: IncomingMessage, res: ServerResponse): void {
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => {
    const target = String(req.headers['x-amz-target'] ?? '');
    const handler = HANDLERS[target.slice(target.indexOf('.') + 1)];
    try {
      if (handler === undefined) throw new Error(`unknown target ${target}`);
      const input = JSON.parse(Buffer.concat(chunks).toString()) as Record<string, unknown>;
      reply(res, 200, handler(input));
    } catch (err) {
      reply(res, 400, { __type: 'ValidationException', message: String(err) });
    }
  });
}

// The same headers Trent sends, so that both write replies of about the same size.
function reply(res: ServerResponse, status: number, output: object): void {
  const body = JSON.stringify(output);
  res.writeHead(status, {
    'Content-Type': 'application/x-amz-json-1.1',
    'Content-Length': Buffer.byteLength(body),
    'x-amzn-RequestId': randomUUID(),
  });
  res.end(body);
}

const workersFlag = process.argv.indexOf('--workers');
const WORKERS = workersFlag === -1 ? 1 : Number(process.argv[workersFlag + 1]);

if (WORKERS > 1 && cluster.isPrimary) {
  // Workers listening on port 0 under cluster all share the one port the primary picks.
  let ready = 0;
  const env = { BARE_KEY: KEY.toString('hex'), BARE_KEY_ID: KEY_ID };
  for (let i = 0; i < WORKERS; i++) {
    cluster.fork(env).on('message', (message: { url: string }) => {
      if (++ready === WORKERS) console.log(JSON.stringify({ url: message.url }));
    });
  }
  process.once('SIGTERM', () => {
    for (const worker of Object.values(cluster.workers ?? {})) worker?.kill('SIGTERM');
    cluster.on('exit', () => {
      if (Object.keys(cluster.workers ?? {}).length === 0) process.exit(0);
    });
  });
} else {
  const server = createServer(handle);
  server.keepAliveTimeout = 5 * 60_000;
  server.listen(0, '127.0.0.1', () => {
    const { port } = server.address() as AddressInfo;
    const url = `http://127.0.0.1:${port}`;
    if (cluster.isWorker) process.send?.({ url });
    else console.log(JSON.stringify({ url }));
  });
  process.once('SIGTERM', () => {
    server.close(() => process.exit(0));
    server.closeIdleConnections();
  });
}
