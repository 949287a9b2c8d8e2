/**
 * The canonical text of a record or digest: JSON with object members sorted by key (UTF-16 code
 * unit order, as Array.prototype.sort compares), no whitespace, undefined members dropped. The
 * hash chain and the digest signatures cover these bytes (UTF-8), so any tool can recompute them
 * from an exported record with a JSON parser and a sort — one that puts array-index names ("9",
 * "10") first in numeric order, as JavaScript orders an object's members and so JSON.stringify
 * writes the sorted copy (docs/audit.md). Changing that would break the chains already written.
 */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value).sort()) {
    const member = (value as Record<string, unknown>)[key];
    if (member !== undefined) out[key] = sortKeys(member);
  }
  return out;
}
