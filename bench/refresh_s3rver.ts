/**
 * @module
 * s3rver for the refresh rows, restartable on the same port and data: s3rver 3.7.1 keeps
 * the object's file open after answering a conditional GET with 304 (its filesystem store
 * opens the read stream before the ETag is compared), and the hard limit of open files here
 * is 20000, so a long-lived s3rver stops answering after ~20k 304s — a v1 refresh of 10k
 * repositories is 10k of them. tests/helpers/s3rver.ts (the one starter for tests) removes
 * its data when it stops; the rows need the data to outlive the process, so this runs the
 * same runner script (tests/helpers/s3rver-run.cjs) itself. The bucket is a directory of
 * the data dir (how s3rver's filesystem store keeps buckets), made here.
 */
import { freePort, type Proc, start, waitFor } from "./proc.ts";

export interface RestartableS3rver {
  readonly endpoint: string;
  /** `<dataDir>/<bucket>/<key>._S3rver_object` files. */
  readonly dataDir: string;
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
    `${root}/tests/helpers/s3rver-run.cjs`,
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
    async restart() {
      await proc.stop();
      proc = await run();
    },
    stop: () => proc.stop(),
  };
}
