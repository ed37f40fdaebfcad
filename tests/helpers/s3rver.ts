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
import { CreateBucketCommand, S3Client } from "@aws-sdk/client-s3";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { clientConfig, type S3StoreOptions } from "../../lib/store/s3.ts";

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, "../..");
const S3RVER_MODULE = path.join(ROOT, ".tools/node_modules/s3rver");

/** A running object store the tests talk to with the AWS SDK. */
export interface TestObjectStore {
  /** `http://127.0.0.1:PORT`, the S3 endpoint. */
  endpoint: string;
  /** A bucket created at start. */
  bucket: string;
  /** S3Store options minus bucket/prefix: endpoint, credentials, path style. */
  options: Omit<S3StoreOptions, "bucket">;
  /** Creates another bucket. */
  createBucket(name: string): Promise<void>;
  /** Stops the server (SIGTERM by PID, then SIGKILL) and removes its data. */
  stop(): Promise<void>;
}

/** A port nothing listens on right now (the kernel picks it). */
export function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

/** Starts s3rver and creates `bucket`; throws with its output when it does not start in 15 s. */
export async function startS3rver(bucket = "registry"): Promise<TestObjectStore> {
  try {
    await Deno.stat(path.join(S3RVER_MODULE, "package.json"));
  } catch {
    throw new Error(`s3rver is not installed in ${S3RVER_MODULE}: run scripts/setup`);
  }
  const dir = await Deno.makeTempDir({ prefix: "s3rver-" });
  const port = freePort();
  const child = new Deno.Command("node", {
    args: [
      "--openssl-legacy-provider",
      path.join(HERE, "s3rver-run.cjs"),
      String(port),
      path.join(dir, "objects"),
      S3RVER_MODULE,
    ],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let out = "";
  const drain = (async () => {
    const merged = [child.stdout, child.stderr].map(async (s) => {
      for await (const c of s.pipeThrough(new TextDecoderStream())) out += c;
    });
    await Promise.allSettled(merged);
  })();
  let exited = false;
  const status = child.status.then((s) => {
    exited = true;
    return s;
  });
  const stop = async () => {
    if (!exited) {
      try {
        Deno.kill(child.pid, "SIGTERM");
      } catch { /* already gone */ }
      const t = setTimeout(() => {
        try {
          Deno.kill(child.pid, "SIGKILL");
        } catch { /* already gone */ }
      }, 5000);
      await status;
      clearTimeout(t);
    }
    await drain;
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  };
  const deadline = Date.now() + 15_000;
  while (!out.includes("READY")) {
    if (exited || Date.now() > deadline) {
      await stop();
      throw new Error(`s3rver did not start on port ${port}:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  const endpoint = `http://127.0.0.1:${port}`;
  const options = {
    endpoint,
    region: "us-east-1",
    forcePathStyle: true,
    credentials: { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" },
  };
  const createBucket = async (name: string) => {
    const client = new S3Client(clientConfig(options));
    try {
      await client.send(new CreateBucketCommand({ Bucket: name }));
    } finally {
      client.destroy();
    }
  };
  try {
    await createBucket(bucket);
  } catch (e) {
    await stop();
    throw e;
  }
  return { endpoint, bucket, options, createBucket, stop };
}
