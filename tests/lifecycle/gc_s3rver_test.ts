/**
 * @module
 * gc() on an S3 store served by s3rver 3.7.1 (which implements no multipart listing).
 */
import { startS3rver } from "../helpers/s3rver.ts";
import { withObjectStore } from "../store/s3_contract.ts";
import { gcOnS3 } from "./gc_s3_steps.ts";

withObjectStore("gc() on s3rver", () => startS3rver("registry"), async (t, _srv, store) => {
  await gcOnS3(t, store, { abortsMultipart: false });
});
