/**
 * @module
 * The results table: one row per measurement with static-registry's figure, the
 * baselines measured in the same run, the ratios, the target of issue 4 and PASS/MISS
 * (INFO where the issue sets no target). Printed as aligned text and as Markdown.
 */

/** One line of the table. */
export interface Row {
  name: string;
  /** static-registry's figure, formatted. */
  value: string;
  /** Baseline figures, formatted ("nginx 57.1k req/s"), possibly empty. */
  baselines: string[];
  /** Ratios to those baselines, formatted ("0.71×"). */
  ratios: string[];
  /** The target in words, or "" when the row is informational. */
  target: string;
  /** true PASS, false MISS, null no target (INFO), or "ERROR" when the row failed. */
  pass: boolean | null | "ERROR";
  /** Extra detail (latency percentiles, the error) shown under the table. */
  note?: string;
}

/** req/s as "57.1k". */
export function rps(n: number): string {
  return n >= 10_000
    ? `${(n / 1000).toFixed(1)}k`
    : n >= 1000
    ? `${(n / 1000).toFixed(2)}k`
    : n.toFixed(0);
}
export const ms = (n: number) => (n >= 100 ? `${n.toFixed(0)} ms` : `${n.toFixed(2)} ms`);
export const mb = (n: number) => `${n.toFixed(1)} MB`;
export const ratio = (a: number, b: number) => `${(a / b).toFixed(a / b >= 10 ? 0 : 2)}×`;

const verdict = (r: Row) =>
  r.pass === "ERROR" ? "ERROR" : r.pass === null ? "INFO" : r.pass ? "PASS" : "MISS";

const HEAD = ["row", "static-registry", "baseline(s)", "ratio(s)", "target", "result"];
const cells = (r: Row) => [
  r.name,
  r.value,
  r.baselines.join(" · "),
  r.ratios.join(" · "),
  r.target,
  verdict(r),
];

/** Aligned plain-text table for the terminal. */
export function textTable(rows: Row[]): string {
  const all = [HEAD, ...rows.map(cells)];
  const widths = HEAD.map((_, i) => Math.max(...all.map((c) => [...c[i]].length)));
  const line = (c: string[]) =>
    c.map((s, i) => s + " ".repeat(widths[i] - [...s].length)).join("  ").trimEnd();
  return [
    line(HEAD),
    widths.map((w) => "-".repeat(w)).join("  "),
    ...rows.map((r) => line(cells(r))),
  ]
    .join("\n");
}

/** GitHub Markdown table. */
export function markdownTable(rows: Row[]): string {
  const esc = (s: string) => s.replaceAll("|", "\\|");
  return [
    `| ${HEAD.join(" | ")} |`,
    `|${HEAD.map(() => " --- ").join("|")}|`,
    ...rows.map((r) => `| ${cells(r).map(esc).join(" | ")} |`),
  ].join("\n");
}

/** The notes of the rows that have one. */
export function notes(rows: Row[]): string[] {
  return rows.filter((r) => r.note).map((r) => `${r.name}: ${r.note}`);
}

/** A row that could not be measured: shown as ERROR with the reason, never as a figure. */
export function errorRow(name: string, target: string, err: unknown): Row {
  const msg = String((err as Error)?.message ?? err).split("\n").slice(0, 6).join(" / ");
  return { name, value: "—", baselines: [], ratios: [], target, pass: "ERROR", note: msg };
}
