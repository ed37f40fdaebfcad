// Usage: node --openssl-legacy-provider s3rver-run.cjs <port> <dataDir> <s3rverModuleDir>
// Runs s3rver 3.7.1 on 127.0.0.1 and prints "READY <port>" once listening (for a person
// reading the log: tests/helpers/s3rver.ts waits for an HTTP answer).
// --openssl-legacy-provider: s3rver encrypts ListObjectsV2 continuation tokens with DES,
// which Node >= 17 (OpenSSL 3) only has in the legacy provider.
"use strict";
const fs = require("fs");
const [port, dir, mod] = process.argv.slice(2);
if (!port || !dir || !mod) {
  console.error("usage: s3rver-run.cjs <port> <dataDir> <s3rverModuleDir>");
  process.exit(2);
}
const S3rver = require(mod);
fs.mkdirSync(dir, { recursive: true });
const server = new S3rver({
  address: "127.0.0.1",
  port: Number(port),
  directory: dir,
  silent: !process.env.S3RVER_VERBOSE,
  // Access key id must be S3RVER (the signature itself is not checked by 3.7.1).
  allowMismatchedSignatures: false,
  vhostBuckets: false,
});
server.run().then(() => {
  console.log(`READY ${port} s3rver ${require(mod + "/package.json").version}`);
}, (err) => {
  console.error("FAILED", err);
  process.exit(1);
});
const stop = () => server.close().finally(() => process.exit(0));
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
