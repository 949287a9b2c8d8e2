import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { KmsHandler } from './kms-handler.js';
import { isStsRequest, type StsHandler } from './sts-handler.js';

/**
 * The HTTP listener: the KMS API on `POST /`, STS (AWS Query: form-encoded, or signed for service
 * `sts`) on the same port, and a health check on `GET /health`.
 *
 * Idle keep-alive sockets are kept longer than any AWS SDK keeps a pooled socket idle, so a client
 * never reuses a socket the server is closing ("socket hang up"). Headers must arrive within
 * `headersTimeout` and a whole request within `requestTimeout`, so slow clients cannot pin
 * sockets forever.
 */
export const KEEP_ALIVE_TIMEOUT_MS = 5 * 60_000;

/** What GET /health reports beyond "up": today, whether audit records can be written. */
export type HealthCheck = () => { ok: true } | { ok: false; reason: string };

/** Extra `POST <path>` endpoints beside the KMS API (admin clock, audit lookup), by exact path. */
export type AdminRoutes = ReadonlyMap<string, (req: IncomingMessage, res: ServerResponse) => Promise<void>>;

export function createHttpServer(
  kms: KmsHandler,
  logger: Logger,
  health: HealthCheck = () => ({ ok: true }),
  admin: AdminRoutes = new Map(),
  sts?: StsHandler,
): Server {
  const server = createServer((req, res) => {
    const handler = req.method === 'POST' ? admin.get(req.url ?? '') : undefined;
    if (handler === undefined && sts !== undefined && isStsRequest(req)) return routeSts(sts, req, res, logger);
    if (handler === undefined) return route(kms, req, res, logger, health);
    handler(req, res).catch((err: unknown) => {
      logger.error({ err }, 'admin request failed');
      if (!res.headersSent) res.writeHead(500).end();
    });
  });
  server.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS;
  server.headersTimeout = KEEP_ALIVE_TIMEOUT_MS + 5_000;
  server.requestTimeout = 60_000;
  return server;
}

function route(kms: KmsHandler, req: IncomingMessage, res: ServerResponse, logger: Logger, health: HealthCheck): void {
  if (req.method === 'GET' && (req.url === '/health' || req.url === '/healthz')) {
    const audit = health();
    const body = JSON.stringify(
      audit.ok ? { status: 'ok' } : { status: 'degraded', audit: `cannot write audit records: ${audit.reason}` },
    );
    res.writeHead(audit.ok ? 200 : 503, {
      'Content-Type': 'application/json',
      'Content-Length': Buffer.byteLength(body),
    });
    res.end(body);
    return;
  }
  kms.handle(req, res).catch((err: unknown) => {
    // handle() answers every error itself; reaching here means the socket itself failed.
    logger.error({ err }, 'request failed outside the KMS handler');
    if (!res.headersSent) res.writeHead(500).end();
  });
}

function routeSts(sts: StsHandler, req: IncomingMessage, res: ServerResponse, logger: Logger): void {
  sts.handle(req, res).catch((err: unknown) => {
    logger.error({ err }, 'request failed outside the STS handler');
    if (!res.headersSent) res.writeHead(500).end();
  });
}
