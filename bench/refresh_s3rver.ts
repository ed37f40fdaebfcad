/**
 * @module
 * s3rver for the refresh rows, restartable on the same port and data, with its leak of one
 * file descriptor per 304 closed. s3rver 3.7.1 answers a conditional GET with 304 without
 * destroying the read stream its filesystem store opened before the ETag was compared
 * (lib/controllers/object.js), so each 304 kept a descriptor until the process exited. A v1
 * refresh of N repositories is N 304s; the hard open-file limit here is 20000 and cannot be
 * raised (root lacks CAP_SYS_RESOURCE: `prlimit --nofile` is refused), so 10k rows ran out
 * after a refresh or two (nginx 502) and a 100k refresh could never fit. The runner
 * bench/s3rver-run-closing.cjs destroys the unsent stream; {@link RestartableS3rver.openFiles}
 * still counts what s3rver holds (/proc), and the rows restart it before a refresh could
 * reach {@link RestartableS3rver.fdLimit} (bench/refresh_rows.ts roomFor), which no longer
 * happens but costs nothing to check.
 *
 * tests/helpers/s3rver.ts (the one starter for tests) removes its data when it stops; the
 * rows need the data to outlive the process, so this runs the runner itself. The bucket is
 * a directory of the data dir (how s3rver's filesystem store keeps buckets), made here.
 */
import { freePort, type Proc, start, waitFor } from "./proc.ts";

export interface RestartableS3rver {
  readonly endpoint: string;
  /** `<dataDir>/<bucket>/<key>._S3rver_object` files. */
  readonly dataDir: string;
  /** The running s3rver's open-file limit (its /proc/<pid>/limits "Max open files"). */
  fdLimit(): Promise<number>;
  /** Descriptors the running s3rver holds now (entries of /proc/<pid>/fd). */
  openFiles(): number;
  /** Stops it and starts it again on the same port and data. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

/** Starts s3rver on a free port with `<workDir>/s3rver` as its data and `bucket` in it. */
export async function startRestartableS3rver(
  root: string,
  workDir: string,
  bucket: string,
): Promise<RestartableS3rver> {
  const port = freePort();
  const dataDir = `${workDir}/s3rver`;
  await Deno.mkdir(`${dataDir}/${bucket}`, { recursive: true });
  const endpoint = `http://127.0.0.1:${port}`;
  const args = [
    "--openssl-legacy-provider",
    `${root}/bench/s3rver-run-closing.cjs`,
    String(port),
    dataDir,
    `${root}/.tools/node_modules/s3rver`,
  ];
  const run = async () => {
    const p = start("s3rver", "node", args, `${workDir}/s3rver.log`);
    // A key that is not there: a cheap answer that proves it serves the bucket.
    await waitFor(p, `${endpoint}/${bucket}/not-there`, { status: 404, timeoutMs: 20_000 });
    return p;
  };
  let proc: Proc = await run();
  return {
    endpoint,
    dataDir,
    async fdLimit() {
      const limits = await Deno.readTextFile(`/proc/${proc.pid}/limits`);
      const soft = /^Max open files\s+(\d+)/m.exec(limits)?.[1];
      if (!soft) throw new Error(`no "Max open files" in /proc/${proc.pid}/limits`);
      return Number(soft);
    },
    openFiles() {
      let n = 0;
      for (const _ of Deno.readDirSync(`/proc/${proc.pid}/fd`)) n++;
      return n;
    },
    async restart() {
      await proc.stop();
      proc = await run();
    },
    stop: () => proc.stop(),
  };
}
