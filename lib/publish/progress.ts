/**
 * @module
 * Progress of a publish. On a terminal, a cli-progress bar on stderr (bytes to copy,
 * blobs done); elsewhere nothing while it runs, and the CLI prints one summary line.
 */
import cliProgress from "cli-progress";
import process from "node:process";

/** What publish reports while it runs. */
export interface PublishProgress {
  /** Called once the work is known: blobs to look at and their total size. */
  start(total: { blobs: number; bytes: number }): void;
  /** `n` more bytes copied or found present. */
  advance(n: number): void;
  /** One blob done (`copied` false: it was already in the store). */
  blobDone(digest: string, copied: boolean): void;
  stop(): void;
}

/** Reports nothing. */
export const noProgress: PublishProgress = {
  start() {},
  advance() {},
  blobDone() {},
  stop() {},
};

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

/** A progress bar on `stream` (default stderr) labelled with `label`. */
export function barProgress(
  label: string,
  stream: NodeJS.WriteStream = process.stderr,
): PublishProgress {
  const bar = new cliProgress.SingleBar({
    stream,
    format: `${label} [{bar}] {percentage}% | {done}/{size} | blobs {blobs}/{totalBlobs}`,
    hideCursor: true,
    clearOnComplete: false,
    etaBuffer: 20,
  }, cliProgress.Presets.shades_classic);
  let blobs = 0;
  let totalBlobs = 0;
  let total = 0;
  let value = 0;
  const payload = () => ({
    done: formatBytes(value),
    size: formatBytes(total),
    blobs,
    totalBlobs,
  });
  return {
    start(t) {
      total = t.bytes;
      totalBlobs = t.blobs;
      bar.start(Math.max(total, 1), 0, payload());
    },
    advance(n) {
      value += n;
      bar.update(value, payload());
    },
    blobDone() {
      blobs++;
      bar.update(value, payload());
    },
    stop() {
      bar.stop();
    },
  };
}

/** A bar when stderr is a terminal, nothing otherwise. */
export function defaultProgress(label: string): PublishProgress {
  return process.stderr.isTTY ? barProgress(label) : noProgress;
}
