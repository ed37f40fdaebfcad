/**
 * @module
 * The publish baseline: a plain multipart upload of the same bytes with
 * @aws-sdk/lib-storage, the fastest thing a hand-written uploader would do. All the files
 * given are streamed, concatenated, as ONE object (8 MiB parts, 4 in flight: the SDK's
 * usual settings), so the SDK's part pipeline is never idle between small objects.
 * Run with Bun (the runtime of the product binary), so both sides use the same HTTP stack:
 *
 *   bun bench/upload.ts --endpoint http://127.0.0.1:PORT --bucket B --key K FILE...
 *
 * With `--per-object N` each file is instead its own object (`<key>/<i>`), N uploads at a
 * time: the request pattern of `publish` (one object per blob, 4 blobs in flight) without
 * its verification and locking, to tell those costs apart.
 *
 * Prints `{"bytes":N,"seconds":S}` on stdout. Credentials: AWS_ACCESS_KEY_ID /
 * AWS_SECRET_ACCESS_KEY (s3rver wants S3RVER / S3RVER).
 */
import { S3Client } from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";
import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import { PassThrough } from "node:stream";
import { parseArgs } from "node:util";
import process from "node:process";

async function main() {
  const { values, positionals } = parseArgs({
    args: process.argv.slice(2),
    allowPositionals: true,
    options: {
      endpoint: { type: "string" },
      bucket: { type: "string" },
      key: { type: "string" },
      "part-size": { type: "string", default: String(8 << 20) },
      "queue-size": { type: "string", default: "4" },
      "per-object": { type: "string" },
    },
  });
  if (!values.endpoint || !values.bucket || !values.key || positionals.length === 0) {
    throw new Error("usage: upload.ts --endpoint URL --bucket B --key K FILE...");
  }
  const client = new S3Client({
    endpoint: values.endpoint,
    region: "us-east-1",
    forcePathStyle: true,
    // With the SDK's default checksums a streamed body is stored with chunk framing by
    // s3rver and refused by Swift (shared/reference/README.md).
    requestChecksumCalculation: "WHEN_REQUIRED",
    responseChecksumValidation: "WHEN_REQUIRED",
    credentials: {
      accessKeyId: process.env.AWS_ACCESS_KEY_ID ?? "S3RVER",
      secretAccessKey: process.env.AWS_SECRET_ACCESS_KEY ?? "S3RVER",
    },
  });
  let bytes = 0;
  for (const f of positionals) bytes += (await stat(f)).size;
  const t0 = performance.now();
  const partSize = Number(values["part-size"]);
  const queueSize = Number(values["queue-size"]);
  const { bucket, key } = values;
  if (values["per-object"]) {
    const files = positionals.map((f, i) => ({ f, i }));
    const worker = async () => {
      for (let job = files.shift(); job; job = files.shift()) {
        const Body = createReadStream(job.f, { highWaterMark: 1 << 20 });
        await new Upload({
          client,
          params: { Bucket: bucket, Key: `${key}/${job.i}`, Body },
          partSize,
          queueSize,
        })
          .done();
      }
    };
    await Promise.all(Array.from({ length: Number(values["per-object"]) }, worker));
  } else {
    const body = new PassThrough({ highWaterMark: 1 << 20 });
    const feed = (async () => {
      for (const f of positionals) {
        for await (const chunk of createReadStream(f, { highWaterMark: 1 << 20 })) {
          if (!body.write(chunk)) await new Promise((r) => body.once("drain", r));
        }
      }
      body.end();
    })();
    const upload = new Upload({
      client,
      params: { Bucket: bucket, Key: key, Body: body },
      partSize,
      queueSize,
    });
    await Promise.all([upload.done(), feed]);
  }
  const seconds = (performance.now() - t0) / 1000;
  console.log(JSON.stringify({ bytes, seconds }));
}

main().catch((e) => {
  console.error(`upload.ts: ${e?.stack ?? e}`);
  process.exit(1);
});
