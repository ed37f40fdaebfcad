/**
 * @module
 * gc() on an S3 store served by OpenStack Swift's s3api (a real object store; it lists
 * and aborts multipart uploads). One Swift for the file: it takes ~10 s to start.
 */
import { startSwift } from "../helpers/swift.ts";
import { withObjectStore } from "../store/s3_contract.ts";
import { gcOnS3 } from "./gc_s3_steps.ts";

withObjectStore("gc() on OpenStack Swift (s3api)", startSwift, async (t, _srv, store) => {
  await gcOnS3(t, store, { abortsMultipart: true });
});
