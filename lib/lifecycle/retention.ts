/**
 * @module
 * Retention: which tags of a repository a policy lets go (issue 12 §3). Pure, no I/O;
 * `delete --keep-newest N --keep-tags REGEX --keep-younger DUR` (lib/cli/delete.ts) hands
 * the tags it returns to lib/lifecycle/delete.ts.
 *
 * A tag stays when ANY given rule keeps it (the rules are "keep" rules, as in most
 * registries' cleanup policies): one of the N most recently set, a name the pattern
 * matches, or set less than the duration ago. Times come from the tag index's `tagged`
 * record (lib/layout/tag_times.ts); a tag without one — published before times were
 * recorded — counts as older than every timed tag, so it is never "young" and is the
 * first to go under `keep-newest`. Among equal times, tags sort by name (ascending), so
 * the choice is the same on every run.
 *
 * @example
 * ```ts
 * expiredTags(index, { keepNewest: 2, keepTags: /^stable$/ }, Date.now());
 * // ["1.0", "1.1"]: all but the two newest and "stable"
 * ```
 */
import type { RepoIndex } from "../layout/schema.ts";
import { tagTime } from "../layout/tag_times.ts";

export interface RetentionPolicy {
  /** Keep the N tags set most recently. */
  keepNewest?: number;
  /** Keep tags this pattern matches (RegExp `test`: anywhere unless anchored). */
  keepTags?: RegExp;
  /** Keep tags set less than this many ms before `now`. */
  keepYoungerMs?: number;
}

/** Whether the policy has at least one rule (an empty policy would keep nothing). */
export function hasRule(p: RetentionPolicy): boolean {
  return p.keepNewest !== undefined || p.keepTags !== undefined || p.keepYoungerMs !== undefined;
}

/** The tags of `index` no rule of `policy` keeps at time `now` (ms), sorted by name. */
export function expiredTags(index: RepoIndex, policy: RetentionPolicy, now: number): string[] {
  if (!hasRule(policy)) throw new Error("a retention policy needs at least one keep rule");
  const tags = Object.keys(index.tags).map((tag) => ({ tag, at: tagTime(index, tag) }));
  // Newest first; untimed (undefined) last; equal times by name.
  tags.sort((a, b) =>
    (b.at ?? -Infinity) - (a.at ?? -Infinity) || (a.tag < b.tag ? -1 : a.tag > b.tag ? 1 : 0)
  );
  const keep = new Set<string>();
  tags.slice(0, policy.keepNewest ?? 0).forEach((t) => keep.add(t.tag));
  for (const { tag, at } of tags) {
    if (policy.keepTags?.test(tag)) keep.add(tag);
    if (policy.keepYoungerMs !== undefined && at !== undefined && now - at < policy.keepYoungerMs) {
      keep.add(tag);
    }
  }
  return tags.map((t) => t.tag).filter((t) => !keep.has(t)).sort();
}
