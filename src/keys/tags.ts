import { TagException } from '../errors.js';
import type { Tag } from '../storage/records.js';

/** Tag rules beyond the model's lengths (reference §4.15), with AWS's recorded messages. */
export const MAX_TAGS_PER_KEY = 50;

export function checkNewTags(tags: readonly Tag[]): void {
  const seen = new Set<string>();
  for (const tag of tags) {
    if (tag.TagKey.startsWith('aws:')) throw new TagException('Tags beginning with aws: are reserved');
    if (seen.has(tag.TagKey)) throw new TagException('Duplicate tag keys');
    seen.add(tag.TagKey);
  }
}

/** Upserts `added` into `existing` (a new value replaces the old), enforcing the per-key limit. */
export function mergeTags(existing: readonly Tag[], added: readonly Tag[]): Tag[] {
  checkNewTags(added);
  const merged = new Map(existing.map((t) => [t.TagKey, t.TagValue]));
  for (const t of added) merged.set(t.TagKey, t.TagValue);
  if (merged.size > MAX_TAGS_PER_KEY) throw new TagException('Too many tags');
  return [...merged].map(([TagKey, TagValue]) => ({ TagKey, TagValue }));
}

export function removeTags(existing: readonly Tag[], keys: readonly string[]): Tag[] {
  for (const key of keys) {
    if (key.startsWith('aws:')) throw new TagException('Tags beginning with aws: are reserved');
  }
  const drop = new Set(keys);
  return existing.filter((t) => !drop.has(t.TagKey));
}
