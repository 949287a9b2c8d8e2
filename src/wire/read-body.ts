import type { IncomingMessage } from 'node:http';
import { RequestEntityTooLargeException } from '../errors.js';

/**
 * Reads a request body of at most `limit` bytes. A declared Content-Length over the limit is
 * refused before a byte is read; a chunked body is refused as soon as it passes the limit. Either
 * way the body is never buffered beyond the limit.
 */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > limit) {
    return Promise.reject(tooLarge(Number(declared), limit));
  }
  // Events rather than async iteration: leaving a for-await loop early destroys the request and
  // its socket, and the client would never read the error reply.
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size <= limit) {
        chunks.push(chunk);
        return;
      }
      req.off('data', onData).off('end', onEnd).off('error', onError);
      reject(tooLarge(size, limit));
    };
    const onEnd = () => resolve(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, size));
    const onError = (err: Error) => reject(err);
    req.on('data', onData).on('end', onEnd).on('error', onError);
  });
}

function tooLarge(size: number, limit: number): RequestEntityTooLargeException {
  return new RequestEntityTooLargeException(
    `The request body is ${size} bytes or more, over the limit of ${limit} bytes.`,
  );
}
