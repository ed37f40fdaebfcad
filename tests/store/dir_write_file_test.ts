/**
 * @module
 * DirStore.writeFile (a temp file filled by the caller, then synced and renamed) and
 * verifyFile (lib/publish/copy.ts): the native blob download's commit and its check. A
 * fill that fails, or a file whose size or digest is wrong, leaves nothing visible and no
 * temp file; a good one lands whole.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs/promises";
import { DirStore } from "../../lib/store/dir.ts";
import { blobKey, CACHE_IMMUTABLE } from "../../lib/layout/keys.ts";
import { digestOf } from "../../lib/oci/digest.ts";
import { verifyFile } from "../../lib/publish/copy.ts";
import { tmpLeftovers, withTemp } from "../publish/helpers.ts";

const meta = { contentType: "application/octet-stream", cacheControl: CACHE_IMMUTABLE };
const bytes = new Uint8Array(3 << 20).map((_, i) => (i * 7) & 0xff); // 3 MiB: several reads
const d = { mediaType: "x", digest: digestOf(bytes), size: bytes.byteLength };

Deno.test("DirStore.writeFile commits a verified file, discards a failed fill", () =>
  withTemp(async (tmp) => {
    const store = new DirStore(`${tmp}/store`);
    const key = blobKey(d.digest);
    const bad = [
      bytes.subarray(1), // short
      new Uint8Array([...bytes, 0]), // long
      bytes.map((b, i) => (i === bytes.length - 1 ? b ^ 1 : b)), // last byte flipped
    ];
    for (const body of bad) {
      await assert.rejects(
        store.writeFile(key, async (path) => {
          await fs.writeFile(path, body);
          await verifyFile(path, d, "blob");
        }, meta),
        (e: Error) => e.message.includes(d.digest) && /size|digest/.test(e.message),
      );
      assert.equal(await store.stat(key), null);
      assert.deepEqual(await tmpLeftovers(store.root), []);
    }
    await store.writeFile(key, async (path) => {
      await fs.writeFile(path, bytes);
      await verifyFile(path, d, "blob");
    }, meta);
    assert.deepEqual(new Uint8Array(await fs.readFile(store.pathOf(key))), bytes);
    assert.deepEqual(await tmpLeftovers(store.root), []);
  }));
