/**
 * @module
 * Starts s3rver 3.7.1 (an S3 mock, installed into .tools/ by scripts/setup) on a free
 * port of 127.0.0.1 with a temp data directory, creates a bucket, and stops it by PID.
 * s3rver checks only the access key id (`S3RVER`), not the signature.
 *
 * @example
 * ```ts
 * const s3 = await startS3rver();
 * try { new S3Store({ bucket: s3.bucket, ...s3.options }) } finally { await s3.stop(); }
 * ```
 */
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { openTestObjectStore, type TestObjectStore } from "./object_store.ts";
import { freePort } from "./ports.ts";
import { spawnDaemon } from "./process.ts";

export type { TestObjectStore } from "./object_store.ts";

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, "../..");
const S3RVER_MODULE = path.join(ROOT, ".tools/node_modules/s3rver");

/** A running s3rver; `dataDir` holds `<bucket>/<key>._S3rver_object` files. */
export interface TestS3rver extends TestObjectStore {
  dataDir: string;
}

/** Starts s3rver and creates `bucket`; throws with its output when it does not start in 15 s. */
export async function startS3rver(bucket = "registry"): Promise<TestS3rver> {
  try {
    await Deno.stat(path.join(S3RVER_MODULE, "package.json"));
  } catch {
    throw new Error(`s3rver is not installed in ${S3RVER_MODULE}: run scripts/setup`);
  }
  const dir = await Deno.makeTempDir({ prefix: "s3rver-" });
  const port = freePort();
  const endpoint = `http://127.0.0.1:${port}`;
  const dataDir = path.join(dir, "objects");
  try {
    const daemon = await spawnDaemon({
      name: `s3rver (port ${port})`,
      cmd: "node",
      args: [
        "--openssl-legacy-provider",
        path.join(HERE, "s3rver-run.cjs"),
        String(port),
        dataDir,
        S3RVER_MODULE,
      ],
      // Any answer (an anonymous ListBuckets is a 403) means it listens.
      ready: async () => {
        await (await fetch(endpoint, { signal: AbortSignal.timeout(1000) })).body?.cancel();
        return true;
      },
    });
    const stop = async () => {
      await daemon.stop(5000);
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    };
    const credentials = { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" };
    return { ...await openTestObjectStore(endpoint, credentials, bucket, stop), dataDir };
  } catch (e) {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
    throw e;
  }
}
