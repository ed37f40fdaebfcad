/**
 * @module
 * When each tag of a tag index was set (`tagged`, docs/LAYOUT.md
 * §"repositories/<name>/_index.json"): read leniently (a time that is not RFC 3339, or one
 * for a tag the index no longer holds — an older writer moved or dropped the tag and kept
 * the field — counts as no time), written by publish when a tag is set or moved and by
 * delete when a tag goes. Pure, no I/O.
 */
import { record, type RepoIndex } from "./schema.ts";

/** RFC 3339 date-time (§5.6), the shape `Date.prototype.toISOString` writes. */
const RFC3339 = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/i;

/** When `tag` was set, in ms since the epoch; undefined when the index does not say. */
export function tagTime(index: RepoIndex, tag: string): number | undefined {
  const t = index.tagged && Object.hasOwn(index.tagged, tag) ? index.tagged[tag] : undefined;
  if (typeof t !== "string" || !RFC3339.test(t) || !Object.hasOwn(index.tags, tag)) {
    return undefined;
  }
  const ms = Date.parse(t);
  return Number.isNaN(ms) ? undefined : ms;
}

/**
 * The index's `tagged` record after `set` (tag → time) and `drop` (tags), as a
 * null-prototype record holding only tags of `tags` (the tag `__proto__` is a key), in
 * tag order; undefined when no tag has a time (a document that never had the field keeps
 * not having it).
 */
export function withTagTimes(
  index: RepoIndex,
  set: Record<string, string>,
  drop: Iterable<string> = [],
): Record<string, string> | undefined {
  const gone = new Set(drop);
  const out = record<string>();
  for (const tag of Object.keys(index.tags).sort()) {
    if (gone.has(tag)) continue;
    if (Object.hasOwn(set, tag)) out[tag] = set[tag];
    else if (index.tagged && Object.hasOwn(index.tagged, tag)) out[tag] = index.tagged[tag];
  }
  return Object.keys(out).length ? out : undefined;
}

/** Now, as the layout writes times: RFC 3339 UTC with milliseconds. */
export function nowTime(): string {
  return new Date().toISOString();
}
