import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { Authenticator } from '../auth/authenticate.js';
import { type KmsError, toKmsError } from '../errors.js';
import { RequestContext, type Services } from '../operations/context.js';
import type { Operation } from '../operations/operation.js';
import { OperationTable, parseJsonBody } from '../wire/operation-table.js';
import { readBody } from '../wire/read-body.js';
import { sendError, sendResult } from '../wire/reply.js';

/**
 * The KMS request path (DESIGN.md), in the order in which errors win: body size → operation →
 * authentication → JSON and types → constraints → the operation's own checks. An unauthenticated
 * caller learns nothing about its input.
 */
export interface KmsHandlerOptions {
  // biome-ignore lint/suspicious/noExplicitAny: the table holds operations of every input type
  operations: readonly Operation<any>[];
  authenticator: Authenticator;
  services: Services;
  logger: Logger;
  bodyLimit: number;
}

// After refusing a request whose body is still arriving (an oversized body), read and discard at
// most this much more before replying, so the client can read the reply on a keep-alive
// connection; past it the reply says `Connection: close` and the connection is closed.
//
// The reply waits for the end of the body: Node destroys a `Connection: close` socket as soon as
// the reply is written, and closing a socket with unread input sends a TCP reset, which can wipe
// the reply from the client's receive buffer while the client is still sending its body.
const DRAIN_LIMIT = 8 * 1024 * 1024;

export class KmsHandler {
  // biome-ignore lint/suspicious/noExplicitAny: see above
  private readonly table: OperationTable<Operation<any>>;

  constructor(private readonly options: KmsHandlerOptions) {
    this.table = new OperationTable(options.operations);
  }

  get operationNames(): string[] {
    return this.table.names;
  }

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const requestId = randomUUID();
    const started = performance.now();
    let operation: string | undefined;
    try {
      const body = await readBody(req, this.options.bodyLimit);
      const entry = this.table.lookup(header(req, 'x-amz-target'), header(req, 'content-type'));
      operation = entry.operation.name;
      const { caller, region } = await this.options.authenticator.authenticate({
        method: req.method ?? 'POST',
        url: req.url ?? '/',
        headers: req.headers,
        headersDistinct: req.headersDistinct,
        body,
      });
      const input = entry.validate(parseJsonBody(body));
      const ctx = new RequestContext(requestId, caller, region, this.options.services);
      const output = await entry.operation.handle(ctx, input as never);
      sendResult(res, requestId, output);
      this.options.logger.debug({ requestId, operation, caller: caller.arn, ms: elapsed(started) }, 'request');
    } catch (err) {
      const error = toKmsError(err);
      this.reject(req, res, requestId, error);
      this.log(requestId, operation, error, started);
    }
  }

  private reject(req: IncomingMessage, res: ServerResponse, requestId: string, error: KmsError): void {
    if (req.complete) sendError(res, requestId, error);
    else discardRest(req, res, () => sendError(res, requestId, error));
  }

  private log(requestId: string, operation: string | undefined, error: KmsError, started: number): void {
    const entry = { requestId, operation, code: error.code, detail: error.detail, ms: elapsed(started) };
    if (error.status >= 500) this.options.logger.error(entry, error.message);
    else this.options.logger.info(entry, 'request refused');
  }
}

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** Reads and discards the rest of the body, then replies (see DRAIN_LIMIT). */
function discardRest(req: IncomingMessage, res: ServerResponse, reply: () => void): void {
  let discarded = 0;
  let replied = false;
  const replyOnce = () => {
    if (replied) return;
    replied = true;
    req.off('data', onData);
    reply();
  };
  const onData = (chunk: Buffer) => {
    discarded += chunk.length;
    if (discarded <= DRAIN_LIMIT) return;
    res.setHeader('Connection', 'close');
    replyOnce();
  };
  req.on('data', onData).once('end', replyOnce);
  req.resume();
}

function elapsed(started: number): number {
  return Math.round((performance.now() - started) * 100) / 100;
}
