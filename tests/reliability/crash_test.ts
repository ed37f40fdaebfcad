/**
 * @module
 * Crash safety of the COMPILED binary: `dist/static-registry publish` of a many-layer,
 * two-platform image into a directory store is SIGKILLed at 20 moments spread over the
 * measured duration of a whole publish (process start to exit, so start-up, blob copies,
 * manifests, tag index and catalog writes all get hit). After every kill the store's own
 * verification (lib/publish/verify.ts, what `check` builds on) must find no tag with missing
 * content, the repository already in the store must be untouched, and a rerun of the same
 * command must complete and leave the tag fully pullable (deep verification: every blob's
 * digest). tests/publish/crash_test.ts does the same through the library entry point.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs/promises";
import * as path from "node:path";
import { makeOciLayout } from "../helpers/image.ts";
import { binaryPath, runBinary } from "../helpers/binary.ts";
import { verifyStore } from "../../lib/publish/verify.ts";
import { DirStore } from "../../lib/store/dir.ts";
import type { RepoIndex } from "../../lib/layout/layout.ts";

const KILLS = 20;
/** Kills triggered by the index lock appearing (see below). */
const LOCK_KILLS = 4;
/** DirStore's lock files (lib/publish/indexes.ts): the tag index's, then the catalog's. */
const LOCK_FILES = ["repo:crash%2Fapp.lock", "catalog.lock"];
const REPO = "crash/app";

/** When to kill: a time after the spawn, or as soon as a file appears (plus `extraMs`). */
type Trigger = { afterMs: number } | { whenExists: string; extraMs: number };

/** Whether `pid` has exited (gone, or a zombie not yet reaped). */
function exitedSync(pid: number): boolean {
  try {
    return /^\d+ \(.*\) Z/.test(Deno.readTextFileSync(`/proc/${pid}/stat`));
  } catch {
    return true;
  }
}

/** Spawns the binary with `args` and SIGKILLs it on `trigger` (unless it exited first). */
async function publishKilled(
  args: string[],
  trigger: Trigger,
): Promise<{ ms: number; killed: boolean; code: number; stderr: string }> {
  const t0 = performance.now();
  const child = new Deno.Command(binaryPath(), {
    args,
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const stderr = new Response(child.stderr).text();
  const kill = () => {
    try {
      child.kill("SIGKILL");
    } catch { /* already exited */ }
  };
  let timer: ReturnType<typeof setTimeout> | undefined;
  if ("afterMs" in trigger) {
    timer = setTimeout(kill, trigger.afterMs);
  } else {
    // A lock is held for about a millisecond: poll synchronously (microseconds per check;
    // the child is another process, blocking this one costs it nothing).
    const deadline = performance.now() + 60_000;
    while (performance.now() < deadline && !exitedSync(child.pid)) {
      let seen = false;
      try {
        Deno.statSync(trigger.whenExists);
        seen = true;
      } catch { /* not yet */ }
      if (seen) {
        const at = performance.now() + trigger.extraMs;
        while (performance.now() < at) { /* spin: sub-millisecond delays */ }
        kill();
        break;
      }
    }
  }
  const status = await child.status;
  clearTimeout(timer);
  return {
    ms: performance.now() - t0,
    killed: status.signal === "SIGKILL",
    code: status.code,
    stderr: await stderr,
  };
}

async function readIndex(root: string, name: string): Promise<RepoIndex | null> {
  try {
    return JSON.parse(
      await fs.readFile(path.join(root, "repositories", name, "_index.json"), "utf8"),
    );
  } catch {
    return null;
  }
}

/** How far the killed publish got, from what a reader can see. */
async function stage(root: string): Promise<string> {
  const index = await readIndex(root, REPO);
  if (index?.tags.v1) return "tagged";
  const blobs = await fs.readdir(path.join(root, "blobs", "sha256")).catch(() => []);
  return `${blobs.length} blobs`;
}

Deno.test({
  name: "publish (binary) SIGKILLed at 20 moments: store verifies clean, rerun completes",
  sanitizeResources: false,
  fn: async () => {
    const tmp = await Deno.makeTempDir({ prefix: "sr-crash-bin-" });
    try {
      const src = path.join(tmp, "src");
      const img = await makeOciLayout(src, {
        tag: "v1",
        layers: 40,
        layerSize: 256 * 1024,
        platforms: [{ os: "linux", architecture: "amd64" }, { os: "linux", architecture: "arm64" }],
        seed: "crash-bin",
        baseSeed: "crash-base",
      });
      // A store that already holds another repository sharing the base layer.
      const template = path.join(tmp, "template");
      const other = await makeOciLayout(path.join(tmp, "other"), {
        tag: "old",
        seed: "crash-other",
        baseSeed: "crash-base",
      });
      const pub = (root: string, from = `oci:${src}:v1`, ref = `${REPO}:v1`) => [
        "publish",
        from,
        ref,
        "--to",
        root,
      ];
      const first = await runBinary(
        pub(template, `oci:${path.join(tmp, "other")}:old`, "crash/other:old"),
      );
      assert.equal(first.code, 0, first.stderr);
      const fresh = async (name: string) => {
        const root = path.join(tmp, name);
        await fs.cp(template, root, { recursive: true });
        return root;
      };

      // Calibrate on the second of two runs (the first pays for cold page caches).
      const never = { afterMs: 120_000 };
      await publishKilled(pub(await fresh("calibrate-0")), never);
      const full = await publishKilled(pub(await fresh("calibrate-1")), never);
      assert.equal(full.code, 0, full.stderr);
      // The binary's own start-up (runtime, modules) writes nothing: measure it with
      // `--version` and spread the kills over the rest, where the store changes.
      const startup = (await publishKilled(["--version"], never)).ms;
      let span = full.ms - startup;

      const outcomes: string[] = [];
      let attempts = 0;
      for (let i = 0; i < KILLS; attempts++) {
        assert.ok(attempts < KILLS * 3, `too many runs finished before their kill: ${outcomes}`);
        const root = await fresh(`store-${attempts}`);
        // Most kills stratified over time (slot i of KILLS); the last few the moment the
        // publisher takes the lock of the tag index or of the catalog (both are written
        // under it), a window of about a millisecond that timed kills rarely hit.
        const timed = i < KILLS - LOCK_KILLS;
        const trigger: Trigger = timed
          ? { afterMs: startup + span * (i + Math.random()) / KILLS }
          : { whenExists: path.join(root, ".locks", LOCK_FILES[i % 2]), extraMs: (i >> 1) % 2 / 4 };
        const run = await publishKilled(pub(root), trigger);
        const when = "afterMs" in trigger
          ? `${Math.round(trigger.afterMs)}ms`
          : `${path.basename(trigger.whenExists)}+${trigger.extraMs}ms`;
        if (!run.killed) assert.equal(run.code, 0, `exited by itself but failed: ${run.stderr}`);
        const seen = `${when}:${run.killed ? "killed" : "finished"}@${await stage(root)}`;
        outcomes.push(seen);
        // A run faster than the calibration finished before its kill: verified all the
        // same, and the slot is tried again with the span it really took.
        if (run.killed) i++;
        else if (timed) span = Math.min(span, run.ms - startup);

        // No tag whose content is missing; the other repository untouched.
        assert.deepEqual(await verifyStore(new DirStore(root)), [], `after ${seen}`);
        assert.equal((await readIndex(root, "crash/other"))?.tags.old, other.rootDigest, seen);

        // The rerun completes (taking over whatever the dead publisher left, its lock too).
        const rerun = await runBinary(pub(root), { timeoutMs: 120_000 });
        assert.equal(rerun.code, 0, `rerun after ${seen}: ${rerun.stderr}`);
        assert.deepEqual(
          await verifyStore(new DirStore(root), { deep: true }),
          [],
          `rerun ${seen}`,
        );
        assert.equal((await readIndex(root, REPO))?.tags.v1, img.rootDigest, seen);
        await fs.rm(root, { recursive: true });
      }
      console.log(
        `crash (binary): full publish ${Math.round(full.ms)} ms (start-up ` +
          `${Math.round(startup)} ms); ${KILLS} kills in ${attempts} runs: ${outcomes.join(", ")}`,
      );
      // Not vacuous: some kills landed before the tag was written.
      assert.ok(
        outcomes.some((o) => o.includes("killed@") && !o.endsWith("@tagged")),
        `no kill landed before the tag was written: ${outcomes.join(", ")}`,
      );
    } finally {
      await fs.rm(tmp, { recursive: true, force: true });
    }
  },
});
