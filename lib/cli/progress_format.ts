/**
 * @module
 * Text pieces of the progress display: bytes, rates, durations, a bar, and {@link fitLine},
 * which drops the least useful pieces of a line until it fits a terminal width. The bar and
 * the ETA come from cli-progress's formatters (`Format.BarFormat`, `Format.TimeFormat`);
 * the layout is ours because cli-progress's MultiBar neither knows the terminal's rows nor
 * re-measures its frame after a resize (lib/cli/progress.ts).
 */
import cliProgress from "cli-progress";

/** Human bytes: 1536 → "1.5 KiB". */
export function formatBytes(n: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return i === 0 ? `${n} B` : `${n.toFixed(1)} ${units[i]}`;
}

/** A live rate in decimal units (as curl and skopeo show it): 8_200_000 → "8.2 MB/s". */
export function formatRate(bytesPerSecond: number): string {
  const v = Math.max(0, bytesPerSecond);
  if (v >= 1e9) return `${(v / 1e9).toFixed(1)} GB/s`;
  if (v >= 1e6) return `${(v / 1e6).toFixed(1)} MB/s`;
  if (v >= 1e3) return `${(v / 1e3).toFixed(1)} kB/s`;
  return `${Math.round(v)} B/s`;
}

/** A duration for people: 450 → "450 ms", 2340 → "2.3 s", 125000 → "2m05s". */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  return formatEta(ms / 1000);
}

/** Seconds left as cli-progress shows an ETA: 5 → "05s", 65 → "01m05s", 3700 → "01h02m". */
export function formatEta(seconds: number): string {
  return cliProgress.Format.TimeFormat(Math.round(seconds), { autopaddingChar: "0" }, 1);
}

/** Narrowest bar worth drawing, and the widest (its brackets not counted). */
export const BAR_MIN = 5;
export const BAR_MAX = 30;

/** `[====>     ]` with `inner` cells between the brackets; `progress` in 0..1. */
export function formatBar(progress: number, inner: number): string {
  const p = Math.min(1, Math.max(0, progress));
  const partial = p > 0 && p < 1;
  const size = partial ? inner - 1 : inner;
  const bar = cliProgress.Format.BarFormat(p, {
    barsize: size,
    barCompleteString: "=".repeat(size),
    barIncompleteString: " ".repeat(size),
    barGlue: partial ? ">" : "",
  });
  return `[${bar}]`;
}

/**
 * One piece of a line. `keep`: the higher, the longer it survives a narrow terminal.
 * A piece with `bar` set is a progress bar that takes the room left over (BAR_MIN..BAR_MAX).
 */
export interface Segment {
  keep: number;
  text?: string;
  bar?: number;
}

/**
 * Joins `segments` with single spaces into at most `width` characters: while they do not
 * fit, the piece with the lowest `keep` is dropped; a bar gets the room that is left; the
 * last piece standing is cut. Text here is ASCII (names, digests and numbers), so
 * `length` is the width on screen.
 */
export function fitLine(segments: readonly Segment[], width: number): string {
  let kept = segments.filter((s) => s.bar !== undefined || s.text);
  while (kept.length > 0) {
    const texts = kept.filter((s) => s.bar === undefined);
    const used = texts.reduce((n, s) => n + s.text!.length, 0) + kept.length - 1;
    const bars = kept.length - texts.length;
    const room = bars ? Math.floor((width - used) / bars) - 2 : width - used;
    if (room >= (bars ? BAR_MIN : 0)) {
      const inner = Math.min(room, BAR_MAX);
      return kept.map((s) => s.bar === undefined ? s.text : formatBar(s.bar, inner)).join(" ")
        .trimEnd();
    }
    if (kept.length === 1) return (kept[0].text ?? "").slice(0, Math.max(0, width)).trimEnd();
    const lowest = kept.reduce((a, b) => (b.keep < a.keep ? b : a));
    kept = kept.filter((s) => s !== lowest);
  }
  return "";
}
