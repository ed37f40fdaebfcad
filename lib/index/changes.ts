/**
 * @module
 * What a refresh picked up, for the log: repositories that appeared or left, and per
 * repository the tags that appeared, moved to another manifest or went. Said once, at the
 * refresh that swaps the change in (the first load says "index loaded" instead).
 *
 * A repository whose tag index was not re-read (a 304, the same {@link RepoView}) is not
 * compared at all, so an unchanged store costs a map lookup per repository here. A line
 * names at most {@link MAX_LISTED} tags of each kind and gives the counts, so a publish of
 * thousands of tags is one bounded line.
 */
import type { Logger } from "../log.ts";
import type { RepoView } from "./repo.ts";

/** Tags named per kind in one line; the counts say how many there were. */
export const MAX_LISTED = 20;

/** What changed in one repository. */
export interface RepoChange {
  repo: string;
  kind: "added" | "removed" | "changed";
  added: string[];
  moved: { tag: string; from: string; to: string }[];
  removed: string[];
}

type Repos = ReadonlyMap<string, RepoView>;

/** The changes from `before` to `after`, by repository name. */
export function indexChanges(before: Repos, after: Repos): RepoChange[] {
  const out: RepoChange[] = [];
  for (const [repo, view] of after) {
    const old = before.get(repo);
    if (old === view) continue;
    const was = old?.index.tags ?? {};
    const now = view.index.tags;
    const change: RepoChange = {
      repo,
      kind: old ? "changed" : "added",
      added: [],
      moved: [],
      removed: [],
    };
    for (const tag of view.sortedTags) {
      const from = Object.hasOwn(was, tag) ? was[tag] : undefined;
      if (from === undefined) change.added.push(tag);
      else if (from !== now[tag]) change.moved.push({ tag, from, to: now[tag] });
    }
    for (const tag of old?.sortedTags ?? []) if (!Object.hasOwn(now, tag)) change.removed.push(tag);
    if (old && !change.added.length && !change.moved.length && !change.removed.length) continue;
    out.push(change);
  }
  for (const [repo, old] of before) {
    if (!after.has(repo)) {
      out.push({ repo, kind: "removed", added: [], moved: [], removed: [...old.sortedTags] });
    }
  }
  return out;
}

/** Logs each change at info (see the module doc). */
export function logIndexChanges(log: Logger, store: string, changes: readonly RepoChange[]): void {
  for (const c of changes) {
    const fields = {
      store,
      repo: c.repo,
      ...(c.added.length
        ? { added: c.added.slice(0, MAX_LISTED), addedCount: c.added.length }
        : {}),
      ...(c.moved.length
        ? { moved: c.moved.slice(0, MAX_LISTED), movedCount: c.moved.length }
        : {}),
      ...(c.removed.length
        ? { removed: c.removed.slice(0, MAX_LISTED), removedCount: c.removed.length }
        : {}),
    };
    if (c.kind === "added") {
      log.info(fields, `new repository ${c.repo} (${tagCount(c.added.length)})`);
    } else if (c.kind === "removed") {
      log.info(fields, `repository ${c.repo} is no longer served`);
    } else {
      const said = [
        c.added.length ? `${c.added.length} new` : "",
        c.moved.length ? `${c.moved.length} moved` : "",
        c.removed.length ? `${c.removed.length} removed` : "",
      ].filter(Boolean).join(", ");
      log.info(fields, `repository ${c.repo}: tags ${said}`);
    }
  }
}

/** "1 tag", "3 tags", "0 tags": the count with the noun that agrees with it. */
function tagCount(n: number): string {
  return `${n} ${n === 1 ? "tag" : "tags"}`;
}
