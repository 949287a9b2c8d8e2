import type { ServerResponse } from 'node:http';
import type { KmsError } from '../errors.js';

/**
 * Writing AWS JSON 1.1 replies. Every reply carries `x-amzn-RequestId` and a `Date` (Node adds
 * it; the SDKs correct clock skew from it); errors also carry `X-Amzn-ErrorType`, which the SDKs
 * read first, and `{"__type", "message"}` with the code and AWS's public message only.
 */
const CONTENT_TYPE = 'application/x-amz-json-1.1';

export function sendResult(res: ServerResponse, requestId: string, output: unknown): void {
  const body = output === undefined ? '' : JSON.stringify(output);
  res.writeHead(200, {
    'Content-Type': CONTENT_TYPE,
    'Content-Length': Buffer.byteLength(body),
    'x-amzn-RequestId': requestId,
  });
  res.end(body);
}

export function sendError(res: ServerResponse, requestId: string, error: KmsError): void {
  const body = JSON.stringify(
    error.message === '' ? { __type: error.code } : { __type: error.code, message: error.message },
  );
  res.writeHead(error.status, {
    'Content-Type': CONTENT_TYPE,
    'Content-Length': Buffer.byteLength(body),
    'x-amzn-RequestId': requestId,
    'X-Amzn-ErrorType': error.code,
  });
  res.end(body);
}
