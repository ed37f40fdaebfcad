/**
 * @module
 * Defect 4 of issue 9: a stale lock (its holder died) must be taken over by exactly ONE
 * waiter. Many publisher processes, released at the same instant, each publish their own
 * tag of one repository while the repository lock is a planted lock of a dead process.
 * Every publish exits 0, so every tag must be in the tag index at the end: two waiters
 * that both "take over" the stale lock both hold it, and one's read-modify-write of
 * `_index.json` overwrites the other's (a lost tag, both exiting 0).
 */
import assert from "node:assert/strict";
import * as fs from "node:fs/promises";
import { hostname } from "node:os";
import * as path from "node:path";
import { makeOciLayout } from "../helpers/image.ts";
import { DirStore } from "../../lib/store/dir.ts";
import { verifyStore } from "../../lib/publish/verify.ts";
import type { RepoIndex } from "../../lib/layout/layout.ts";
import { withTemp } from "./helpers.ts";

const CHILD = path.join(import.meta.dirname!, "publish_child.ts");
const PUBLISHERS = 12;
const ROUNDS = 2;

/** A PID that is certainly dead: a child that has exited and been reaped. */
async function deadPid(): Promise<number> {
  const child = new Deno.Command("true", { stdout: "null", stderr: "null" }).spawn();
  await child.status;
  return child.pid;
}

/** Starts a publisher per tag, releases them together once all are loaded; their exits. */
async function publishAtOnce(src: string, root: string, tags: string[]) {
  const go = `${root}.go`;
  const children = tags.map((tag) =>
    new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "--no-check", CHILD, src, `demo/race:${tag}`, "--to", root, "--json"],
      env: { PUBLISH_START_FILE: go },
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).spawn()
  );
  const all = children.map((c) => {
    let stderr = "";
    let ready: () => void = () => {};
    const isReady = new Promise<void>((r) => (ready = r));
    const drained = (async () => {
      for await (const s of c.stderr.pipeThrough(new TextDecoderStream())) {
        stderr += s;
        if (stderr.includes("ready")) ready();
      }
    })();
    return {
      isReady: Promise.race([isReady, c.status]),
      done: c.status.then(async (s) => {
        await drained;
        return { code: s.code, stderr };
      }),
    };
  });
  await Promise.all(all.map((o) => o.isReady));
  await Deno.writeTextFile(go, "");
  return (await Promise.all(all.map((o) => o.done))).map((o, i) => ({ tag: tags[i], ...o }));
}

Deno.test({
  name: "many publishers against a planted stale lock: exactly one takes it over, no tag lost",
  sanitizeResources: false,
  fn: () =>
    withTemp(async (tmp) => {
      await makeOciLayout(`${tmp}/src`, { tag: "v1" });
      for (let round = 0; round < ROUNDS; round++) {
        const root = `${tmp}/store-${round}`;
        const locks = path.join(root, ".locks");
        await fs.mkdir(locks, { recursive: true });
        // The format every version writes (`host pid`), from a dead process.
        await fs.writeFile(
          path.join(locks, "repo:demo%2Frace.lock"),
          `${hostname()} ${await deadPid()}`,
        );
        const tags = Array.from({ length: PUBLISHERS }, (_, i) => `t${i}`);
        const runs = await publishAtOnce(`oci:${tmp}/src:v1`, root, tags);
        for (const r of runs) assert.equal(r.code, 0, `${r.tag}: ${r.stderr}`);
        const index = JSON.parse(
          await Deno.readTextFile(`${root}/repositories/demo/race/_index.json`),
        ) as RepoIndex;
        const lost = tags.filter((t) => !(t in index.tags));
        assert.deepEqual(lost, [], `round ${round}: tags lost although every publish exited 0`);
        assert.deepEqual(await verifyStore(new DirStore(root)), []);
        assert.deepEqual(
          (await fs.readdir(locks)).filter((f) => !f.startsWith(".")),
          [],
          "no lock left behind",
        );
      }
    }),
});
