/**
 * @module
 * `check`: HEAD every object that every tag references (manifests, index children,
 * referrers, configs, layers; each digest once, walked by lib/layout/walk.ts) on every
 * origin, and report what is missing or has the wrong size, per origin. Monitoring runs it
 * and alerts on a non-zero exit.
 */
import pMap from "p-map";
import { blobKey } from "../layout/keys.ts";
import type { RepoIndex } from "../layout/schema.ts";
import { referencedObjects as walk } from "../layout/walk.ts";
import type { FetchFn } from "./health.ts";
import { headObject } from "./verify.ts";

/** An object to check: digest, expected size, and one tag that references it (for humans). */
export interface CheckObject {
  digest: string;
  size: number;
  /** `repo:tag` of the first tag found referencing it. */
  ref: string;
}

/** Where to check: a name and how to HEAD a layout key there. */
export interface CheckTarget {
  name: string;
  headUrl(key: string): Promise<string> | string;
}

/** One thing wrong on one origin. */
export interface CheckProblem {
  origin: string;
  digest: string;
  ref: string;
  /** `missing` (404/403/410), `size` (wrong Content-Length), `error` (no answer, 5xx). */
  kind: "missing" | "size" | "error";
  reason: string;
}

/** The result of {@link check}. */
export interface CheckReport {
  ok: boolean;
  objects: number;
  origins: { name: string; checked: number; missing: number; size: number; error: number }[];
  problems: CheckProblem[];
}

/**
 * Every object the tags of `indexes` reference (lib/layout/walk.ts: manifests, index
 * children, referrers, configs, layers), each digest once across repositories, in a
 * stable order; `ref` names the first tag that reaches it.
 */
export function referencedObjects(indexes: Iterable<RepoIndex>): CheckObject[] {
  const out = new Map<string, CheckObject>();
  for (const idx of indexes) {
    for (const { digest, size, ref } of walk(idx)) {
      if (!out.has(digest)) out.set(digest, { digest, size, ref });
    }
  }
  return [...out.values()];
}

/**
 * HEADs every object on every target with at most `concurrency` requests in flight.
 *
 * @example
 * ```ts
 * const report = await check({ objects: referencedObjects(indexes), targets: origins.list,
 *   fetch, concurrency: 16 });
 * if (!report.ok) console.log(report.problems);
 * ```
 */
export async function check(opts: {
  objects: readonly CheckObject[];
  targets: readonly CheckTarget[];
  fetch?: FetchFn;
  concurrency?: number;
  /** Per-request timeout (ms), default 30 s. */
  timeout?: number;
}): Promise<CheckReport> {
  const doFetch = opts.fetch ?? ((input, init) => fetch(input, init));
  const concurrency = opts.concurrency ?? 16;
  if (!Number.isInteger(concurrency) || concurrency < 1) {
    throw new Error(`concurrency: must be a positive integer, got ${concurrency}`);
  }
  const timeout = opts.timeout ?? 30_000;
  const problems: CheckProblem[] = [];
  const origins = opts.targets.map((t) => ({
    name: t.name,
    checked: 0,
    missing: 0,
    size: 0,
    error: 0,
  }));
  const byName = new Map(origins.map((o) => [o.name, o]));
  const jobs = opts.targets.flatMap((t) => opts.objects.map((o) => ({ t, o })));
  await pMap(jobs, async ({ t, o }) => {
    let verdict;
    try {
      verdict = await headObject(doFetch, await t.headUrl(blobKey(o.digest)), o.size, timeout);
    } catch (e) {
      verdict = { ok: false as const, kind: "error" as const, reason: (e as Error).message };
    }
    const stats = byName.get(t.name)!;
    stats.checked++;
    if (verdict.ok) return;
    stats[verdict.kind]++;
    problems.push({
      origin: t.name,
      digest: o.digest,
      ref: o.ref,
      kind: verdict.kind,
      reason: verdict.reason,
    });
  }, { concurrency });
  const order = new Map(opts.targets.map((t, i) => [t.name, i]));
  problems.sort((a, b) =>
    order.get(a.origin)! - order.get(b.origin)! || a.digest.localeCompare(b.digest)
  );
  return { ok: problems.length === 0, objects: opts.objects.length, origins, problems };
}

/** The report as a human-readable table. */
export function formatReport(r: CheckReport): string {
  const lines = [
    `checked ${r.objects} objects on ${r.origins.length} origin(s)`,
    "",
    ...table(
      ["ORIGIN", "CHECKED", "MISSING", "WRONG SIZE", "ERRORS"],
      r.origins.map((o) => [o.name, o.checked, o.missing, o.size, o.error].map(String)),
    ),
  ];
  if (r.problems.length) {
    lines.push(
      "",
      ...table(
        ["ORIGIN", "PROBLEM", "DIGEST", "REFERENCED BY", "DETAIL"],
        r.problems.map((p) => [
          p.origin,
          p.kind === "size" ? "wrong size" : p.kind,
          p.digest,
          p.ref,
          p.reason,
        ]),
      ),
    );
  }
  lines.push("", r.ok ? "OK" : `FAILED: ${r.problems.length} problem(s)`);
  return lines.join("\n") + "\n";
}

function table(head: string[], rows: string[][]): string[] {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const fmt = (r: string[]) => r.map((c, i) => c.padEnd(widths[i])).join("  ").trimEnd();
  return [fmt(head), ...rows.map(fmt)];
}
