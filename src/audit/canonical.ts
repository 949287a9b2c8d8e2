/**
 * The canonical text of a record or digest: JSON with object members sorted by key (UTF-16 code
 * unit order, as Array.prototype.sort compares), no whitespace, undefined members dropped. The
 * hash chain and the digest signatures cover these bytes (UTF-8), so any tool can recompute them
 * from an exported record with a JSON parser and a sort — one that puts array-index names ("9",
 * "10") first in numeric order, as JavaScript orders an object's members and so JSON.stringify
 * writes the sorted copy (docs/audit.md). Changing that would break the chains already written.
 */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(inCanonicalOrder(value));
}

/**
 * What JSON.stringify turns into the canonical text: `value` itself where its objects already list
 * their members in canonical order — most of a record: record.ts builds them so —, with a sorted
 * copy (`sortKeys`) in place of each part that does not. Sorting a copy of every object was a third
 * of the cost of a record's text on the hot path. Objects that are not plain (a Date, a Buffer) are
 * always copied, as sortKeys always did, so that no toJSON changes the text.
 */
function inCanonicalOrder(value: unknown): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) {
    let copy: unknown[] | undefined;
    for (let i = 0; i < value.length; i++) {
      const item: unknown = value[i];
      const ordered = inCanonicalOrder(item);
      if (ordered === item) continue;
      copy ??= value.slice();
      copy[i] = ordered;
    }
    return copy ?? value;
  }
  const prototype: unknown = Object.getPrototypeOf(value);
  if (prototype !== Object.prototype && prototype !== null) return sortKeys(value);
  const object = value as Record<string, unknown>;
  const names = Object.keys(object);
  // Object.keys lists members as JSON.stringify writes them (array indices first, in numeric
  // order): if that list is sorted, a sorted copy would list them the same way.
  for (let i = 1; i < names.length; i++) {
    if (!((names[i - 1] as string) < (names[i] as string))) return sortKeys(value);
  }
  let copy: Record<string, unknown> | undefined;
  for (const name of names) {
    const member = object[name];
    const ordered = inCanonicalOrder(member);
    if (ordered === member) continue;
    copy ??= { ...object };
    copy[name] = ordered;
  }
  return copy ?? value;
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value === null || typeof value !== 'object') return value;
  // No prototype: a member named "__proto__" (JSON.parse makes one of `{"__proto__": …}` in an
  // encryption context) stays a member instead of setting the copy's prototype and vanishing.
  const out: Record<string, unknown> = Object.create(null);
  for (const key of Object.keys(value).sort()) {
    const member = (value as Record<string, unknown>)[key];
    if (member !== undefined) out[key] = sortKeys(member);
  }
  return out;
}
