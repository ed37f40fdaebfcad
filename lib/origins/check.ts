/**
 * @module
 * `check`: HEAD every object that every tag references (manifests, index children,
 * referrers, configs, layers; each digest once, walked by lib/layout/walk.ts) on every
 * origin, and report what is missing or has the wrong size, per origin. Monitoring runs it
 * and alerts on a non-zero exit.
 *
 * Stores are checked the same way (`stores`): a store without origins (an air-gapped
 * directory) is what clients are served from, so its own copy is what must be whole; the
 * caller says how each object is tested there (size, or with `--deep` the digest,
 * lib/publish/verify.ts `objectProblem`).
 *
 * An origin or store that does not answer is ONE finding (`unreachable`), not one row per
 * object: each is probed first (an origin by a HEAD of the marker, a store by a stat of
 * it) and skipped when the probe gets no answer; one whose every object check ended in an
 * error is folded into one finding too. A dead CDN then reads as "cdn-b: unreachable",
 * and a run against it costs one timeout instead of one per object.
 */
import pMap from "p-map";
import { blobKey, MARKER_KEY } from "../layout/keys.ts";
import type { RepoIndex } from "../layout/schema.ts";
import { referencedObjects as walk } from "../layout/walk.ts";
import { userAgent } from "../version.ts";
import type { FetchFn } from "./health.ts";
import { headObject, type Verdict } from "./verify.ts";

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

/** The outcome of checking one object somewhere: an origin's, or a store's (`digest`). */
export type CheckVerdict = Verdict | { ok: false; kind: "digest"; reason: string };

/** A store checked itself: `test` judges one object there (throwing counts as an error). */
export interface StoreCheck {
  /** `store`, or `store:<prefix>` for a mount: never an origin name (no `:` there). */
  name: string;
  location: string;
  /** Null when the store answers, else why it does not. */
  reachable(): Promise<string | null>;
  test(o: CheckObject): Promise<CheckVerdict>;
}

/** One thing wrong on one origin or store (`origin` names either). */
export interface CheckProblem {
  origin: string;
  /** `""` for an `unreachable` finding, which concerns no single object. */
  digest: string;
  ref: string;
  /**
   * `missing` (404/403/410, or not in the store), `size` (wrong Content-Length or stored
   * size), `digest` (stored bytes hash to another digest, `--deep`), `error` (no answer,
   * 5xx), `unreachable` (the origin or store as a whole: one finding for all its objects).
   */
  kind: "missing" | "size" | "digest" | "error" | "unreachable";
  reason: string;
}

/** Counts for one origin or store. */
export interface TargetStats {
  name: string;
  checked: number;
  missing: number;
  size: number;
  error: number;
  /** The probe got no answer (objects not checked), or every check of an object failed. */
  unreachable: boolean;
}

/** The result of {@link check}. */
export interface CheckReport {
  ok: boolean;
  objects: number;
  origins: TargetStats[];
  /** Stores checked themselves (absent when none was). */
  stores?: (TargetStats & { location: string; digest: number })[];
  problems: CheckProblem[];
}

/** Something to check objects on: an origin or a store, in one shape. */
interface Tester {
  name: string;
  probe(): Promise<string | null>;
  test(o: CheckObject): Promise<CheckVerdict>;
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
 * HEADs every object on every target (and tests it in every store of `stores`) with at
 * most `concurrency` checks in flight.
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
  stores?: readonly StoreCheck[];
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
  const stores = opts.stores ?? [];
  const testers: Tester[] = [
    ...opts.targets.map((t): Tester => ({
      name: t.name,
      probe: async () => probeOrigin(doFetch, await t.headUrl(MARKER_KEY), timeout),
      test: async (o) => headObject(doFetch, await t.headUrl(blobKey(o.digest)), o.size, timeout),
    })),
    ...stores.map((s): Tester => ({ name: s.name, probe: () => s.reachable(), test: s.test })),
  ];
  const stats = testers.map((t) => ({
    name: t.name,
    checked: 0,
    missing: 0,
    size: 0,
    digest: 0,
    error: 0,
    unreachable: false,
  }));
  const found: CheckProblem[][] = testers.map(() => []);
  const down = await Promise.all(testers.map((t) => t.probe().catch((e) => String(e?.message))));
  const jobs = testers.flatMap((_t, i) =>
    down[i] === null ? opts.objects.map((o) => ({ i, o })) : []
  );
  await pMap(jobs, async ({ i, o }) => {
    let verdict: CheckVerdict;
    try {
      verdict = await testers[i].test(o);
    } catch (e) {
      verdict = { ok: false, kind: "error", reason: (e as Error).message };
    }
    stats[i].checked++;
    if (verdict.ok) return;
    stats[i][verdict.kind]++;
    found[i].push({ origin: testers[i].name, digest: o.digest, ref: o.ref, ...verdict });
  }, { concurrency });
  testers.forEach((t, i) => {
    const s = stats[i];
    const n = opts.objects.length;
    if (down[i] !== null) {
      s.unreachable = true;
      found[i] = [unreachable(t.name, `${down[i]}; ${n} object(s) not checked`)];
    } else if (s.checked > 0 && s.error === s.checked) {
      s.unreachable = true;
      found[i] = [
        unreachable(
          t.name,
          `every object check failed (${n}), first: ${found[i].sort(byDigest)[0].reason}`,
        ),
      ];
    } else {
      found[i].sort(byDigest);
    }
  });
  const problems = found.flat();
  const origins = stats.slice(0, opts.targets.length).map(({ digest: _, ...o }) => o);
  const report: CheckReport = {
    ok: problems.length === 0,
    objects: opts.objects.length,
    origins,
    problems,
  };
  if (stores.length) {
    report.stores = stats.slice(opts.targets.length).map((s, j) => ({
      ...s,
      location: stores[j].location,
    }));
  }
  return report;
}

const byDigest = (a: CheckProblem, b: CheckProblem) => a.digest.localeCompare(b.digest);

function unreachable(origin: string, reason: string): CheckProblem {
  return { origin, digest: "", ref: "", kind: "unreachable", reason };
}

/**
 * Null when the origin answers a HEAD of the marker at all (any status below 500: a 404
 * marker still lets each object speak for itself), else why it did not.
 */
async function probeOrigin(doFetch: FetchFn, url: string, timeoutMs: number) {
  try {
    const res = await doFetch(url, {
      method: "HEAD",
      headers: { "user-agent": userAgent() },
      signal: AbortSignal.timeout(timeoutMs),
    });
    await res.body?.cancel();
    return res.status >= 500 ? `HEAD ${MARKER_KEY}: HTTP ${res.status}` : null;
  } catch (e) {
    const err = e as Error;
    return `HEAD ${MARKER_KEY} failed: ${
      err?.name === "TimeoutError" ? `timed out after ${timeoutMs} ms` : err?.message ?? String(e)
    }`;
  }
}

/** The report as a human-readable table. */
export function formatReport(r: CheckReport): string {
  const where = [
    ...(r.origins.length || !r.stores ? [`${r.origins.length} origin(s)`] : []),
    ...(r.stores ? [`${r.stores.length} store(s)`] : []),
  ];
  const row = (o: TargetStats, digest?: number) =>
    [o.name, o.checked, o.missing, o.size, ...(r.stores ? [digest ?? "-"] : []), o.error].map(
      String,
    ).concat(o.unreachable ? ["unreachable"] : []);
  const lines = [
    `checked ${r.objects} objects on ${where.join(" and ")}`,
    "",
    ...table(
      [
        "ORIGIN",
        "CHECKED",
        "MISSING",
        "WRONG SIZE",
        ...(r.stores ? ["WRONG DIGEST"] : []),
        "ERRORS",
      ],
      [
        ...r.origins.map((o) => row(o)),
        ...(r.stores ?? []).map((s) => row(s, s.digest)),
      ],
    ),
  ];
  if (r.problems.length) {
    lines.push(
      "",
      ...table(
        ["ORIGIN", "PROBLEM", "DIGEST", "REFERENCED BY", "DETAIL"],
        r.problems.map((p) => [
          p.origin,
          p.kind === "size" ? "wrong size" : p.kind === "digest" ? "wrong digest" : p.kind,
          p.digest || "-",
          p.ref || "-",
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
  const fmt = (r: string[]) => r.map((c, i) => c.padEnd(widths[i] ?? 0)).join("  ").trimEnd();
  return [fmt(head), ...rows.map(fmt)];
}
