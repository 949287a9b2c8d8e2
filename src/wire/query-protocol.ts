import type { ServerResponse } from 'node:http';

/**
 * The AWS Query protocol as STS speaks it: form-encoded parameters in (`Action=…&Version=…`,
 * lists as `Name.member.N`), XML out, errors as
 * `<ErrorResponse><Error><Type/><Code/><Message/></Error><RequestId/></ErrorResponse>`.
 */
export const STS_NAMESPACE = 'https://sts.amazonaws.com/doc/2011-06-15/';

/** An STS error: its Query code, HTTP status, and whether the sender or the receiver is at fault. */
export class QueryError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status = 400,
    /** Private context for logs; never sent. */
    readonly detail?: string,
  ) {
    super(message);
  }
}

/** The parameters of a request: the query string's, then the form body's (the body wins). */
export function queryParameters(url: string, body: Buffer, contentType: string | undefined): Map<string, string> {
  const params = new Map<string, string>();
  const q = url.indexOf('?');
  if (q !== -1) for (const [k, v] of new URLSearchParams(url.slice(q + 1))) params.set(k, v);
  if (body.length > 0 && (contentType ?? '').toLowerCase().startsWith('application/x-www-form-urlencoded')) {
    for (const [k, v] of new URLSearchParams(body.toString('utf8'))) params.set(k, v);
  }
  return params;
}

/** `Prefix.member.1`, `Prefix.member.2`, … until the first missing index. */
export function memberList(params: Map<string, string>, prefix: string): string[] {
  const out: string[] = [];
  for (let i = 1; params.has(`${prefix}.member.${i}`); i++) out.push(params.get(`${prefix}.member.${i}`) as string);
  return out;
}

/** `Prefix.member.N.Key` / `.Value` pairs, in order. */
export function memberPairs(params: Map<string, string>, prefix: string): { key: string; value: string }[] {
  const out: { key: string; value: string }[] = [];
  for (let i = 1; params.has(`${prefix}.member.${i}.Key`); i++) {
    out.push({
      key: params.get(`${prefix}.member.${i}.Key`) as string,
      value: params.get(`${prefix}.member.${i}.Value`) ?? '',
    });
  }
  return out;
}

export function escapeXml(text: string): string {
  return text.replace(/[<>&'"]/g, (c) => `&${{ '<': 'lt', '>': 'gt', '&': 'amp', "'": 'apos', '"': 'quot' }[c]};`);
}

/** An XML element tree: a value is text, an object is child elements in order (undefined ones left out). */
export type XmlValue = string | number | { [name: string]: XmlValue | undefined };

function render(value: XmlValue): string {
  if (typeof value === 'string') return escapeXml(value);
  if (typeof value === 'number') return String(value);
  let out = '';
  for (const [name, child] of Object.entries(value)) {
    if (child !== undefined) out += `<${name}>${render(child)}</${name}>`;
  }
  return out;
}

export function sendQueryResult(res: ServerResponse, requestId: string, action: string, result: XmlValue): void {
  const body =
    `<${action}Response xmlns="${STS_NAMESPACE}"><${action}Result>${render(result)}</${action}Result>` +
    `<ResponseMetadata><RequestId>${requestId}</RequestId></ResponseMetadata></${action}Response>`;
  res.writeHead(200, {
    'Content-Type': 'text/xml',
    'Content-Length': Buffer.byteLength(body),
    'x-amzn-RequestId': requestId,
  });
  res.end(body);
}

export function sendQueryError(res: ServerResponse, requestId: string, error: QueryError): void {
  const type = error.status >= 500 ? 'Receiver' : 'Sender';
  const body =
    `<ErrorResponse xmlns="${STS_NAMESPACE}"><Error><Type>${type}</Type><Code>${escapeXml(error.code)}</Code>` +
    `<Message>${escapeXml(error.message)}</Message></Error><RequestId>${requestId}</RequestId></ErrorResponse>`;
  res.writeHead(error.status, {
    'Content-Type': 'text/xml',
    'Content-Length': Buffer.byteLength(body),
    'x-amzn-RequestId': requestId,
  });
  res.end(body);
}
