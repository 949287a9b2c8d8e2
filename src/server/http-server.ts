import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { KmsHandler } from './kms-handler.js';

/**
 * The HTTP listener: the KMS API on `POST /`, and a health check on `GET /health`.
 *
 * Idle keep-alive sockets are kept longer than any AWS SDK keeps a pooled socket idle, so a client
 * never reuses a socket the server is closing ("socket hang up"). Headers must arrive within
 * `headersTimeout` and a whole request within `requestTimeout`, so slow clients cannot pin
 * sockets forever.
 */
export const KEEP_ALIVE_TIMEOUT_MS = 5 * 60_000;

export function createHttpServer(kms: KmsHandler, logger: Logger): Server {
  const server = createServer((req, res) => route(kms, req, res, logger));
  server.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS;
  server.headersTimeout = KEEP_ALIVE_TIMEOUT_MS + 5_000;
  server.requestTimeout = 60_000;
  return server;
}

function route(kms: KmsHandler, req: IncomingMessage, res: ServerResponse, logger: Logger): void {
  if (req.method === 'GET' && (req.url === '/health' || req.url === '/healthz')) {
    const body = JSON.stringify({ status: 'ok' });
    res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
    res.end(body);
    return;
  }
  kms.handle(req, res).catch((err: unknown) => {
    // handle() answers every error itself; reaching here means the socket itself failed.
    logger.error({ err }, 'request failed outside the KMS handler');
    if (!res.headersSent) res.writeHead(500).end();
  });
}
