/**
 * scripts/release, run once for the host target (linux-x64) and one cross target
 * (linux-arm64-musl) — all five take ~1 min more and prove nothing new here: every archive
 * has the same four files, SHA256SUMS verifies with `sha256sum -c`, each binary is an ELF
 * for its machine and loader (a wrong runtime package would ship x64 as arm64), the x64
 * binary runs and serves, and the packaged unit passes `systemd-analyze verify` with the
 * packaged binary at its ExecStart. Set RELEASE_TARGETS to build others (space-separated).
 */
import assert from "node:assert/strict";
import { freePort } from "../helpers/ports.ts";
import { run, runOk, spawnDaemon } from "../helpers/process.ts";
import { REPO, TAG, writeStore } from "../cli/fixture.ts";
import { verifyUnit } from "./systemd.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const VERSION = (await Deno.readTextFile(`${ROOT}lib/version.ts`))
  .match(/BASE_VERSION = "(.*)"/)![1];

/** e_machine and PT_INTERP of an ELF64 little-endian file. */
function elfInfo(bytes: Uint8Array): { machine: number; interp: string } {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  assert.deepEqual([...bytes.subarray(0, 4)], [0x7f, 0x45, 0x4c, 0x46], "not an ELF file");
  const phoff = Number(v.getBigUint64(32, true));
  const phentsize = v.getUint16(54, true);
  const phnum = v.getUint16(56, true);
  let interp = "";
  for (let i = 0; i < phnum; i++) {
    const at = phoff + i * phentsize;
    if (v.getUint32(at, true) !== 3) continue; // PT_INTERP
    const off = Number(v.getBigUint64(at + 8, true));
    const size = Number(v.getBigUint64(at + 32, true));
    interp = new TextDecoder().decode(bytes.subarray(off, off + size - 1));
  }
  return { machine: v.getUint16(18, true), interp };
}

const EXPECT: Record<string, { machine: number; interp: string }> = {
  "linux-x64": { machine: 0x3e, interp: "/lib64/ld-linux-x86-64.so.2" },
  "linux-x64-baseline": { machine: 0x3e, interp: "/lib64/ld-linux-x86-64.so.2" },
  "linux-x64-musl": { machine: 0x3e, interp: "/lib/ld-musl-x86_64.so.1" },
  "linux-arm64": { machine: 0xb7, interp: "/lib/ld-linux-aarch64.so.1" },
  "linux-arm64-musl": { machine: 0xb7, interp: "/lib/ld-musl-aarch64.so.1" },
};

Deno.test({
  name: "scripts/release: archives with their checksums, the right ELF, a running x64 binary",
  sanitizeResources: false,
  fn: async () => {
    const targets = (Deno.env.get("RELEASE_TARGETS") ?? "linux-x64 linux-arm64-musl").split(/\s+/);
    const out = await Deno.makeTempDir({ prefix: "sr-release-" });
    try {
      const r = await run(`${ROOT}scripts/release`, targets, {
        env: { OUT: out },
        timeoutMs: 300_000,
      });
      assert.equal(r.code, 0, r.stderr + r.stdout);
      const names = targets.map((t) => `static-registry-${VERSION}-${t}`);
      const sums = await Deno.readTextFile(`${out}/SHA256SUMS`);
      assert.deepEqual(
        sums.trim().split("\n").map((l) => l.split(/\s+/)[1]).sort(),
        names.map((n) => `${n}.tar.gz`).sort(),
      );
      const check = await run("sha256sum", ["-c", "SHA256SUMS"], { cwd: out });
      assert.equal(check.code, 0, check.stdout + check.stderr);
      // The check can fail: one byte changed in an archive.
      const first = `${out}/${names[0]}.tar.gz`;
      const copy = `${out}/tampered`;
      await Deno.mkdir(copy);
      const bytes = await Deno.readFile(first);
      bytes[bytes.length - 1] ^= 1;
      await Deno.writeFile(`${copy}/${names[0]}.tar.gz`, bytes);
      await Deno.writeTextFile(`${copy}/SHA256SUMS`, sums.split("\n")[0] + "\n");
      assert.notEqual((await run("sha256sum", ["-c", "SHA256SUMS"], { cwd: copy })).code, 0);

      for (const [i, t] of targets.entries()) {
        const list = (await runOk("tar", ["-tzf", `${out}/${names[i]}.tar.gz`])).stdout;
        assert.deepEqual(list.split("\n").filter(Boolean).sort(), [
          `${names[i]}/`,
          `${names[i]}/config.example.json`,
          `${names[i]}/config.schema.json`,
          `${names[i]}/static-registry`,
          `${names[i]}/static-registry.service`,
        ]);
        await runOk("tar", ["-xzf", `${out}/${names[i]}.tar.gz`, "-C", out]);
        const dir = `${out}/${names[i]}`;
        assert.deepEqual(elfInfo(await Deno.readFile(`${dir}/static-registry`)), EXPECT[t], t);
        for (
          const [f, src] of [
            ["static-registry.service", "packaging/static-registry.service"],
            ["config.example.json", "packaging/config.example.json"],
            ["config.schema.json", "docs/config.schema.json"],
          ]
        ) {
          assert.equal(
            await Deno.readTextFile(`${dir}/${f}`),
            await Deno.readTextFile(`${ROOT}${src}`),
            f,
          );
        }
      }
      const x64 = targets.indexOf("linux-x64");
      if (x64 >= 0) {
        const dir = `${out}/${names[x64]}`;
        const bin = `${dir}/static-registry`;
        const version = (await runOk(bin, ["--version"])).stdout;
        assert.match(version, new RegExp(`^static-registry ${VERSION} `));
        const { digest } = await writeStore(`${out}/store`);
        const port = freePort();
        const daemon = await spawnDaemon({
          name: "packaged static-registry",
          cmd: bin,
          args: ["serve", "--store", `${out}/store`, "--listen", `127.0.0.1:${port}`],
          ready: async () => (await fetch(`http://127.0.0.1:${port}/v2/`)).status === 200,
        });
        try {
          const res = await fetch(`http://127.0.0.1:${port}/v2/${REPO}/manifests/${TAG}`);
          await res.body?.cancel();
          assert.equal(res.headers.get("docker-content-digest"), digest);
        } finally {
          await daemon.stop();
        }
        const unit = await Deno.readTextFile(`${dir}/static-registry.service`);
        assert.deepEqual(await verifyUnit(unit, bin), { code: 0, output: "" });
      }
    } finally {
      await Deno.remove(out, { recursive: true });
    }
  },
});
