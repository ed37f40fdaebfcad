/**
 * @module
 * What is wrong with single documents of a store the server still serves: a tag index it
 * cannot accept (isolation: that repository is skipped or keeps its last good version,
 * the others keep serving), and a catalog or tag index that was there and now answers
 * "missing" (an rsync in progress, a CDN miss, an eventual-consistency read — not a
 * deletion: the last good copy stays, and the document is read again on every refresh).
 *
 * Problems are shown in `/readyz` and `/metrics` while they last, and logged once per
 * change (new, changed, cleared), not once per refresh.
 */
import type { Logger } from "../log.ts";

/** One document the server cannot use right now. */
export interface IndexProblem {
  /** The store key at fault: `repositories/<name>/_index.json` or `catalog.json`. */
  key: string;
  /** The repository it belongs to; null for the catalog. */
  repository: string | null;
  /** `missing`: answered "not found"; `rejected`: read, but not a valid document. */
  kind: "missing" | "rejected";
  /** Why, for people (a DocumentError message names the field). */
  reason: string;
  /** When this problem (same kind and reason) was first seen. */
  since: string;
  /** What is served meanwhile: the last good copy, or nothing (never loaded). */
  serving: "last-good" | "nothing";
}

/** A problem with what the reader needs to read the document again cheaply. */
export interface TrackedProblem extends IndexProblem {
  /** The etag of the rejected bytes: an unchanged bad document costs a `not-modified`. */
  etag?: string;
}

/** Problems by key. */
export type Problems = ReadonlyMap<string, TrackedProblem>;

export const NO_PROBLEMS: Problems = new Map();

/**
 * A problem of `kind` for `key`, keeping `since` (and so the "once per change" rule) when
 * the previous problem of that key is the same kind with the same reason.
 */
export function problem(
  prev: TrackedProblem | undefined,
  fields: Omit<TrackedProblem, "since">,
  now: string,
): TrackedProblem {
  const same = prev && prev.kind === fields.kind && prev.reason === fields.reason;
  return { ...fields, since: same ? prev.since : now };
}

/** The problems as `/readyz` shows them: sorted by key, without internal fields. */
export function publicProblems(problems: Problems): IndexProblem[] {
  return [...problems.values()]
    .sort((a, b) => a.key < b.key ? -1 : a.key > b.key ? 1 : 0)
    .map(({ etag: _etag, ...p }) => p);
}

/** Logs what changed between two sets of problems: new or changed (warn), cleared (info). */
export function logChanges(log: Logger, store: string, before: Problems, after: Problems): void {
  for (const [key, p] of after) {
    const old = before.get(key);
    if (old && old.since === p.since && old.serving === p.serving) continue;
    const fields = { store, key, repository: p.repository, reason: p.reason, serving: p.serving };
    if (p.kind === "rejected") {
      log.warn(fields, "tag index rejected; serving the other repositories");
    } else if (p.repository === null) {
      log.warn(fields, "catalog missing; keeping the last good catalog and retrying");
    } else {
      log.warn(fields, "catalog lists a repository without a tag index; retrying");
    }
  }
  for (const [key, p] of before) {
    if (after.has(key)) continue;
    log.info({ store, key, repository: p.repository, was: p.kind }, "index problem cleared");
  }
}
