/**
 * @module
 * What a refresh changed in the served index, for the log (issue 11: "a new tag or
 * repository picked up by a refresh is logged"): repositories added and removed, tags
 * added, removed, and moved to another manifest. One line per change, so an operator can
 * grep for a tag; bounded, so a publish of thousands of tags or a catalog rewrite does not
 * flood the log: past {@link MAX_CHANGE_LINES} changes one summary line says how many of
 * each kind there were instead.
 *
 * A repository whose view is the same object as before (its tag index answered
 * not-modified, lib/index/snapshot.ts) is skipped without looking at its tags, so an
 * unchanged refresh costs one identity check per repository.
 */
import type { Logger } from "../log.ts";
import type { Snapshot } from "./snapshot.ts";

/** More changes than this in one refresh are summarised in one line. */
export const MAX_CHANGE_LINES = 100;

/** One change of the served index. */
export type IndexChange =
  | { change: "repository added" | "repository removed"; repository: string }
  | {
    change: "tag added" | "tag removed" | "tag moved";
    repository: string;
    tag: string;
    digest: string;
  };

type Served = Pick<Snapshot, "names" | "repos">;

/** The changes from `prev` to `next`, repositories in name order, then their tags. */
export function indexChanges(prev: Served, next: Served): IndexChange[] {
  const out: IndexChange[] = [];
  for (const repository of next.names) {
    const now = next.repos.get(repository)!;
    const was = prev.repos.get(repository);
    if (!was) out.push({ change: "repository added", repository });
    if (was === now) continue;
    const old = was?.index.tags ?? {};
    for (const tag of now.sortedTags) {
      const digest = now.index.tags[tag];
      const had = Object.hasOwn(old, tag) ? old[tag] : undefined;
      if (had === undefined) out.push({ change: "tag added", repository, tag, digest });
      else if (had !== digest) out.push({ change: "tag moved", repository, tag, digest });
    }
    if (!was) continue;
    for (const tag of was.sortedTags) {
      if (!Object.hasOwn(now.index.tags, tag)) {
        out.push({ change: "tag removed", repository, tag, digest: old[tag] });
      }
    }
  }
  const after = new Set(next.names);
  for (const repository of prev.names) {
    if (!after.has(repository)) out.push({ change: "repository removed", repository });
  }
  return out;
}

/** Logs `changes` (info), one line each, or one summary past {@link MAX_CHANGE_LINES}. */
export function logIndexChanges(log: Logger, store: string, changes: readonly IndexChange[]) {
  if (changes.length === 0) return;
  if (changes.length <= MAX_CHANGE_LINES) {
    for (const c of changes) log.info({ store, ...c }, `index: ${c.change}`);
    return;
  }
  const counts: Record<string, number> = {};
  for (const c of changes) counts[c.change] = (counts[c.change] ?? 0) + 1;
  log.info(
    { store, changes: changes.length, ...countKeys(counts) },
    `index: ${changes.length} changes (more than ${MAX_CHANGE_LINES}: summarised)`,
  );
}

/** `{"tag added": 3}` → `{tagsAdded: 3}`: field names a log query can use. */
function countKeys(counts: Record<string, number>): Record<string, number> {
  const names: Record<string, string> = {
    "repository added": "repositoriesAdded",
    "repository removed": "repositoriesRemoved",
    "tag added": "tagsAdded",
    "tag removed": "tagsRemoved",
    "tag moved": "tagsMoved",
  };
  return Object.fromEntries(Object.entries(counts).map(([k, n]) => [names[k], n]));
}
