/**
 * @module
 * The compiled binary (bun: blob bodies written to the temp file natively,
 * lib/runtime/runtime.ts nativeBodyToFile) publishing `docker://` from a registry that sends bad bodies
 * on purpose, over raw HTTP/1.1 so a body can disagree with its Content-Length: a flipped
 * byte, a body that ends short, a chunked body longer than the descriptor, bytes past the
 * Content-Length, a body that stalls halfway. A bad body never becomes visible under
 * blobs/ and leaves no temp file; a stalled one is resumed with Range and lands intact.
 */
import assert from "node:assert/strict";
import * as net from "node:net";
import { buildImage } from "../helpers/image.ts";
import { runBinary } from "../helpers/binary.ts";
import { DirStore } from "../../lib/store/dir.ts";
import { blobKey } from "../../lib/layout/keys.ts";
import { verifyStore } from "../../lib/publish/verify.ts";
import { snapshot, tmpLeftovers, withTemp } from "../publish/helpers.ts";

type Mode = "flip" | "short" | "chunked-long" | "past-length" | "stall-once";

/**
 * A registry over node:net: the image's manifest by tag, its blobs by digest, and blob
 * `bad` sent as `mode` says. Records the Range header of each GET of `bad`.
 */
function rawRegistry(blobs: Map<string, Uint8Array>, root: string, bad: string, mode: Mode) {
  const sockets = new Set<net.Socket>();
  const ranges: (string | null)[] = [];
  let badGets = 0;
  const server = net.createServer((sock) => {
    sockets.add(sock);
    sock.on("close", () => sockets.delete(sock));
    sock.on("error", () => {});
    let buf = "";
    sock.on("data", (d) => {
      buf += d.toString("latin1");
      const end = buf.indexOf("\r\n\r\n");
      if (end < 0) return;
      const head = buf.slice(0, end).split("\r\n");
      buf = "";
      const path = head[0].split(" ")[1];
      const range = head.find((h) => /^range:/i.test(h))?.split(":")[1].trim() ?? null;
      answer(sock, path, range);
    });
  });
  const send = (
    sock: net.Socket,
    status: string,
    headers: Record<string, string>,
    body?: Uint8Array,
  ) => {
    const lines = Object.entries({ connection: "close", ...headers }).map(([k, v]) => `${k}: ${v}`);
    sock.write(`HTTP/1.1 ${status}\r\n${lines.join("\r\n")}\r\n\r\n`);
    if (body) sock.write(body);
  };
  const answer = (sock: net.Socket, path: string, range: string | null) => {
    const m = /^\/v2\/src\/x\/(manifests|blobs)\/(.+)$/.exec(path);
    const bytes = m && (m[1] === "manifests" && m[2] === "v1" ? blobs.get(root) : blobs.get(m[2]));
    if (!m || !bytes || (m[1] === "manifests" && m[2] !== "v1")) {
      send(sock, "404 Not Found", { "content-length": "0" });
      return sock.end();
    }
    if (m[1] === "manifests") {
      const type = JSON.parse(new TextDecoder().decode(bytes)).mediaType;
      send(sock, "200 OK", { "content-type": type, "content-length": `${bytes.length}` }, bytes);
      return sock.end();
    }
    if (m[2] !== bad) {
      send(sock, "200 OK", { "content-length": `${bytes.length}` }, bytes);
      return sock.end();
    }
    ranges.push(range);
    badGets++;
    const n = bytes.length;
    switch (mode) {
      case "flip": {
        const b = bytes.slice();
        b[n >> 1] ^= 0xff;
        send(sock, "200 OK", { "content-length": `${n}` }, b);
        return sock.end();
      }
      case "short": // Range ignored: always the whole body again, always 100 bytes short
        send(sock, "200 OK", { "content-length": `${n}` }, bytes.subarray(0, n - 100));
        return sock.end();
      case "chunked-long": {
        const more = new Uint8Array([...bytes, 1, 2, 3]);
        send(sock, "200 OK", { "transfer-encoding": "chunked" });
        sock.write(`${more.length.toString(16)}\r\n`);
        sock.write(more);
        sock.write("\r\n0\r\n\r\n");
        return sock.end();
      }
      case "past-length": // bytes after the framing are not the body (RFC 9112 §6.3)
        send(sock, "200 OK", { "content-length": `${n}` }, new Uint8Array([...bytes, 7, 7, 7]));
        return sock.end();
      case "stall-once": {
        const from = Number(/^bytes=([0-9]+)-$/.exec(range ?? "")?.[1] ?? 0);
        if (badGets === 1) {
          send(sock, "200 OK", { "content-length": `${n}` }, bytes.subarray(0, n >> 1));
          return; // and nothing more: the client's idle timeout must fire
        }
        send(sock, "206 Partial Content", {
          "content-length": `${n - from}`,
          "content-range": `bytes ${from}-${n - 1}/${n}`,
        }, bytes.subarray(from));
        return sock.end();
      }
    }
  };
  server.listen(0, "127.0.0.1");
  return {
    ranges,
    addr: () => `127.0.0.1:${(server.address() as net.AddressInfo).port}`,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

async function publishWith(mode: Mode) {
  const { blobs, root, image } = await buildImage({
    seed: `download-${mode}`,
    layers: 2,
    layerSize: 256 * 1024,
  });
  const bad = image.manifests[0].layers[1].digest;
  const reg = rawRegistry(blobs, root.digest, bad, mode);
  await new Promise((r) => setTimeout(r, 10));
  try {
    return await withTemp(async (tmp) => {
      const store = `${tmp}/store`;
      const r = await runBinary([
        "publish",
        `docker://${reg.addr()}/src/x:v1`,
        "demo/x:v1",
        "--to",
        store,
        "--no-signatures",
        "--timeout",
        "600ms",
      ], { timeoutMs: 60_000 });
      return {
        r,
        bad,
        ranges: reg.ranges,
        visible: await snapshot(store),
        leftovers: await tmpLeftovers(store),
        problems: r.code === 0 ? await verifyStore(new DirStore(store), { deep: true }) : [],
      };
    });
  } finally {
    await reg.close();
  }
}

for (
  const [mode, why] of [
    ["flip", /content digest is sha256:/],
    ["short", /connection closed early|connection dropped/],
    ["chunked-long", /more than the (expected|descriptor size)/],
  ] as const
) {
  Deno.test(`publish docker:// (binary): a ${mode} blob body never lands, no temp file`, async () => {
    const { r, bad, visible, leftovers } = await publishWith(mode);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, why);
    assert.ok(r.stderr.includes(bad), `the error names the blob:\n${r.stderr}`);
    assert.ok(!(blobKey(bad) in visible), "the bad blob is not visible");
    assert.ok(!Object.keys(visible).some((k) => k.startsWith("repositories/")), "no tag index");
    assert.deepEqual(leftovers, []);
  });
}

Deno.test("publish docker:// (binary): bytes past the Content-Length are not part of the blob", async () => {
  const { r, problems, leftovers, ranges } = await publishWith("past-length");
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(problems, []);
  assert.deepEqual(leftovers, []);
  assert.deepEqual(ranges, [null]);
});

Deno.test("publish docker:// (binary): a body stalled halfway resumes with Range and lands intact", async () => {
  const { r, problems, leftovers, ranges } = await publishWith("stall-once");
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(problems, []);
  assert.deepEqual(leftovers, []);
  assert.equal(ranges.length, 2);
  assert.equal(ranges[0], null);
  assert.match(ranges[1] ?? "", /^bytes=[0-9]+-$/);
  assert.ok(Number(/=([0-9]+)-/.exec(ranges[1]!)![1]) > 0, "resumed after the bytes it had");
});
