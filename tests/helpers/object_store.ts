/**
 * @module
 * What the tests' S3 servers (s3rver.ts, swift.ts) have in common once one listens: the
 * S3Store options for it, `createBucket`, the config file's `s3` section, and the first
 * bucket made — or the server stopped again when that fails, so no test leaks a process.
 */
import { CreateBucketCommand, S3Client } from "@aws-sdk/client-s3";
import { clientConfig, type S3StoreOptions } from "../../lib/store/s3.ts";

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
  /**
   * The `s3` section of a static-registry config file that reaches this store — at
   * `endpoint` when given (a proxy or fault injector in front of it).
   */
  s3Config(endpoint?: string): {
    endpoint: string;
    forcePathStyle: true;
    accessKeyId: string;
    secretAccessKey: string;
  };
  /** Stops the server (SIGTERM by PID, then SIGKILL) and removes its data. */
  stop(): Promise<void>;
}

/** The store at `endpoint` with `bucket` created; calls `stop` and rethrows if that fails. */
export async function openTestObjectStore(
  endpoint: string,
  credentials: { accessKeyId: string; secretAccessKey: string },
  bucket: string,
  stop: () => Promise<void>,
): Promise<TestObjectStore> {
  const options = { endpoint, region: "us-east-1", forcePathStyle: true, credentials };
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
  const s3Config = (at = endpoint) => ({
    endpoint: at,
    forcePathStyle: true as const,
    ...credentials,
  });
  return { endpoint, bucket, options, createBucket, s3Config, stop };
}
