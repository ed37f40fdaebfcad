/**
 * @module
 * s3rver 3.7.1 (installed into .tools/ by scripts/setup) on a free 127.0.0.1 port, as the
 * object store for the publish rows, with a fresh data directory; stopped by PID.
 * Its access key is S3RVER / S3RVER. It runs on Node with the legacy OpenSSL provider
 * (its listing continuation tokens use DES).
 */
import { freePort, type Proc, start, waitFor } from "./proc.ts";

export interface ObjectStore {
  proc: Proc;
  endpoint: string;
  /** Data directory: `<dir>/<bucket>/<key>._S3rver_object` files. */
  dataDir: string;
  stop(): Promise<void>;
}

const SCRIPT = `
const S3rver = require(process.env.S3RVER_MODULE);
const [port, dir] = process.argv.slice(-2);
const s = new S3rver({ address: "127.0.0.1", port: Number(port), directory: dir, silent: true,
  vhostBuckets: false, configureBuckets: [{ name: process.env.S3RVER_BUCKET }] });
s.run().then(() => console.log("READY"), (e) => { console.error(e); process.exit(1); });
const stop = () => s.close().finally(() => process.exit(0));
process.on("SIGTERM", stop); process.on("SIGINT", stop);
`;

/**
 * Starts s3rver with `bucket` created; resolves once it answers. `port`: the port of an
 * s3rver stopped before, to start it again on the same data (the refresh rows restart it:
 * s3rver 3.7.1 keeps a file open for every 304 it answers, bench/refresh_rows.ts).
 */
export async function startS3rver(
  root: string,
  workDir: string,
  bucket: string,
  port = freePort(),
): Promise<ObjectStore> {
  const dataDir = `${workDir}/s3rver`;
  await Deno.mkdir(dataDir, { recursive: true });
  const scriptFile = `${workDir}/s3rver-run.cjs`;
  await Deno.writeTextFile(scriptFile, SCRIPT);
  const env = { S3RVER_MODULE: `${root}/.tools/node_modules/s3rver`, S3RVER_BUCKET: bucket };
  const args = ["--openssl-legacy-provider", scriptFile, String(port), dataDir];
  const proc = start("s3rver", "node", args, `${workDir}/s3rver.log`, { env });
  const endpoint = `http://127.0.0.1:${port}`;
  await waitFor(proc, `${endpoint}/${bucket}`, { timeoutMs: 20_000, everyMs: 50 });
  return { proc, endpoint, dataDir, stop: () => proc.stop() };
}
