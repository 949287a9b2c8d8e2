import type { ServerResponse } from 'node:http';
import type { KmsError } from '../errors.js';
import { BlobOutput } from './blob-output.js';

/**
 * Writing AWS JSON 1.1 replies. Every reply carries `x-amzn-RequestId` and a `Date` (Node adds
 * it; the SDKs correct clock skew from it); errors also carry `X-Amzn-ErrorType`, which the SDKs
 * read first, and `{"__type", "message"}` with the code and AWS's public message only.
 */
const CONTENT_TYPE = 'application/x-amz-json-1.1';

export function sendResult(res: ServerResponse, requestId: string, output: unknown): void {
  // A string, not a Buffer of it: Node sends the header and a string body as one string, encoded
  // in C++ straight to the socket, where a Buffer takes a slice of its JavaScript pool (a new 8 KB
  // pool every few replies) and a second chunk in the write. ~5 µs less a request over a socket at
  // the median (docs/performance-log.md, tenth session), though the length is a second pass over it.
  const body = output === undefined ? '' : replyJson(output);
  res.writeHead(200, {
    'Content-Type': CONTENT_TYPE,
    'Content-Length': Buffer.byteLength(body),
    'x-amzn-RequestId': requestId,
  });
  res.end(body);
}

/**
 * The output as JSON.stringify writes it, except that a top-level blob member's base64 text goes in
 * without the escape scan (BlobOutput). Nested values go through JSON.stringify whole.
 */
export function replyJson(output: unknown): string {
  if (output === null || typeof output !== 'object' || Array.isArray(output)) return JSON.stringify(output);
  const members = output as Record<string, unknown>;
  let text = '';
  for (const name of Object.keys(members)) {
    const value = members[name];
    const json = value instanceof BlobOutput ? `"${value.base64}"` : JSON.stringify(value);
    if (json === undefined) continue;
    text += `${text === '' ? '{' : ','}${JSON.stringify(name)}:${json}`;
  }
  return text === '' ? '{}' : `${text}}`;
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
