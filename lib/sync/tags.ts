/**
 * @module
 * Which of an upstream repository's tags a sync entry takes: `regex`, then `semver`
 * (npm semver ranges; tags that are not versions, `v` prefix allowed, are left out), then
 * the `newest` N. "Newest" is by version, since tags/list carries no dates
 * (distribution-spec §"Listing Tags" lists them in lexical order): tags that are versions
 * come first, highest first, then the others in descending natural order (`20241201` after
 * `20241130`, `b10` before `b9`).
 */
import semver from "semver";
import type { TagSelection } from "./file.ts";

const natural = new Intl.Collator("en", { numeric: true });

/** The tags of `all` that `sel` selects, newest first when `newest` is set. */
export function selectTags(all: string[], sel: TagSelection | undefined): string[] {
  let tags = [...new Set(all)];
  if (!sel) return tags;
  if (sel.regex) tags = tags.filter((t) => sel.regex!.test(t));
  if (sel.semver) {
    tags = tags.filter((t) => {
      const v = semver.valid(t, { loose: true });
      return v !== null && semver.satisfies(v, sel.semver!, { loose: true });
    });
  }
  if (sel.newest !== undefined) tags = newestFirst(tags).slice(0, sel.newest);
  return tags;
}

/** Versions highest first, then the rest in descending natural order. */
export function newestFirst(tags: string[]): string[] {
  const version = (t: string) => semver.valid(t, { loose: true });
  return [...tags].sort((a, b) => {
    const va = version(a), vb = version(b);
    if (va && vb) return semver.rcompare(va, vb) || natural.compare(b, a);
    if (va) return -1;
    if (vb) return 1;
    return natural.compare(b, a);
  });
}
