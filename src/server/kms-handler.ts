import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { buildApiCallRecord } from '../audit/record.js';
import { type ParameterFilter, parameterFilter } from '../audit/request-parameters.js';
import type { AuditSink } from '../audit/writer.js';
import type { Authenticator } from '../auth/authenticate.js';
import type { Caller } from '../auth/caller.js';
import { KMSInternalException, type KmsError, toKmsError } from '../errors.js';
import { RequestContext, type RequestOrigin, type Services } from '../operations/context.js';
import type { Operation } from '../operations/operation.js';
import { OperationTable, parseJsonBody } from '../wire/operation-table.js';
import { readBody } from '../wire/read-body.js';
import { sendError, sendResult } from '../wire/reply.js';
import { header, requestMeta, signedRequest, sourceIp } from './request-meta.js';

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
  /** Receives one record per call; a call whose record cannot be written fails closed. */
  audit: AuditSink;
  /** Account of records about unauthenticated calls. */
  defaultAccountId: string;
  /** Where a request came from (trusted proxies, VPC endpoints); default: the TCP peer. */
  origin?: (req: IncomingMessage) => RequestOrigin;
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
  private readonly parameters = new Map<string, ParameterFilter>();

  constructor(private readonly options: KmsHandlerOptions) {
    this.table = new OperationTable(options.operations);
    for (const op of options.operations) this.parameters.set(op.name, parameterFilter(op.input));
  }

  get operationNames(): string[] {
    return this.table.names;
  }

  /**
   * Every call, whatever its fate, produces exactly one audit record, written durably before the
   * reply; if it cannot be written the reply is KMSInternalException (fail closed).
   */
  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const requestId = randomUUID();
    const started = performance.now();
    const target = header(req, 'x-amz-target');
    let operation: string | undefined;
    let caller: Caller | undefined;
    let region: string | undefined;
    let input: unknown;
    let ctx: RequestContext | undefined;
    let output: unknown;
    let error: KmsError | undefined;
    const origin = this.options.origin?.(req) ?? { sourceIp: sourceIp(req) };
    try {
      const body = await readBody(req, this.options.bodyLimit);
      const entry = this.table.lookup(target, header(req, 'content-type'));
      operation = entry.operation.name;
      ({ caller, region } = await this.options.authenticator.authenticate(signedRequest(req, body)));
      input = entry.validate(parseJsonBody(body));
      ctx = new RequestContext(requestId, caller, region, this.options.services, origin);
      output = await entry.operation.handle(ctx, input as never);
    } catch (err) {
      error = toKmsError(err);
    }

    const time = Date.now();
    const eventName = operation ?? unknownEventName(target);
    const keyArns = ctx === undefined ? [] : ctx.keyArns;
    const record = buildApiCallRecord(
      {
        eventName,
        input,
        parameters: operation === undefined ? undefined : this.parameters.get(operation),
        output,
        error,
        caller,
        keyArns,
      },
      requestMeta(req, requestId, time, region, this.options.defaultAccountId, origin),
    );
    try {
      await this.options.audit.write(record, time);
    } catch (auditErr) {
      this.options.logger.error(
        { requestId, operation: eventName, err: auditErr },
        'audit record could not be written: failing the request closed',
      );
      error = new KMSInternalException('An internal error occurred. Try again later.', 'audit store unwritable');
    }

    if (error === undefined) {
      sendResult(res, requestId, output);
      this.options.logger.debug({ requestId, operation, caller: caller?.arn, ms: elapsed(started) }, 'request');
    } else {
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

/** The event name of a request that named no known operation: what it named, bounded. */
function unknownEventName(target: string | undefined): string {
  if (target === undefined || target === '') return 'UnknownOperation';
  const name = target.startsWith('TrentService.') ? target.slice('TrentService.'.length) : target;
  return name.slice(0, 128);
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
