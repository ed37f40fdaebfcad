/**
 * verifyFile() (lib/publish/copy.ts) with its one reused read buffer: verifications that
 * interleave (they yield every 8 MiB) each hash their own bytes.
 */
import assert from "node:assert/strict";
import { verifyFile } from "../../lib/publish/copy.ts";
import { digestOf } from "../../lib/oci/digest.ts";
import { seededBytes } from "../helpers/image.ts";
import { withTemp } from "./helpers.ts";

Deno.test("verifyFile() hashes each of interleaved verifications's own bytes", () =>
  withTemp(async (tmp) => {
    const files = ["a", "b", "c"].map((seed) => ({
      path: `${tmp}/${seed}`,
      bytes: seededBytes(seed, 20 * 1024 * 1024 + 17), // past 8 MiB: they interleave
    }));
    for (const f of files) await Deno.writeFile(f.path, f.bytes);
    const d = (bytes: Uint8Array) => ({
      mediaType: "application/octet-stream",
      digest: digestOf(bytes),
      size: bytes.byteLength,
    });
    // Twice: the second round reads into the buffer the first one used.
    for (let round = 0; round < 2; round++) {
      await Promise.all(files.map((f) => verifyFile(f.path, d(f.bytes), "blob")));
    }
    // b's content under a's descriptor is refused, while the others pass beside it.
    const wrong = { ...d(files[0].bytes), size: files[1].bytes.byteLength };
    const results = await Promise.allSettled([
      verifyFile(files[0].path, d(files[0].bytes), "blob"),
      verifyFile(files[1].path, wrong, "blob"),
      verifyFile(files[2].path, d(files[2].bytes), "blob"),
    ]);
    assert.deepEqual(results.map((r) => r.status), ["fulfilled", "rejected", "fulfilled"]);
    assert.match(String((results[1] as PromiseRejectedResult).reason), /content digest is sha256:/);
  }));
