import { InvalidMarkerException } from '../errors.js';

/**
 * Pagination markers (reference §1.6): opaque to clients, they carry the sort key of the last item
 * returned, tagged with the listing they belong to so a marker from one listing is refused by
 * another.
 */
export function encodeMarker(listing: string, after: string): string {
  return Buffer.from(`${listing}\n${after}`, 'utf8').toString('base64url');
}

export function decodeMarker(listing: string, marker: string | undefined): string | undefined {
  if (marker === undefined) return undefined;
  const text = /^[A-Za-z0-9_-]+$/.test(marker) ? Buffer.from(marker, 'base64url').toString('utf8') : '';
  const prefix = `${listing}\n`;
  if (!text.startsWith(prefix) || text.length === prefix.length) {
    throw new InvalidMarkerException('The marker is not valid for this request.');
  }
  return text.slice(prefix.length);
}

/**
 * Fetches one page: asks for one more row than the limit to learn whether the list goes on.
 */
export async function page<T>(
  listing: string,
  limit: number,
  marker: string | undefined,
  fetch: (after: string | undefined, limit: number) => Promise<T[]>,
  sortKey: (item: T) => string,
): Promise<{ items: T[]; NextMarker?: string; Truncated: boolean }> {
  const rows = await fetch(decodeMarker(listing, marker), limit + 1);
  if (rows.length <= limit) return { items: rows, Truncated: false };
  const items = rows.slice(0, limit);
  return { items, NextMarker: encodeMarker(listing, sortKey(items[items.length - 1] as T)), Truncated: true };
}
