/**
 * @module
 * The whole-pull rows' own logic (bench/pull_rows.ts): the rotation of the alternated
 * pulls, the verdict against issue 13's target, and the check that a docker pull really
 * downloaded every layer of the image it was asked for.
 */
import assert from "node:assert/strict";
import { alternated, checkDockerPull, pullRow } from "../../bench/pull_rows.ts";

Deno.test("alternated: every system once per round, the first one rotated each round", async () => {
  const order: string[] = [];
  const pull = (k: string, ms: number) => () => (order.push(k), Promise.resolve(ms));
  const t = await alternated(3, { floor: pull("f", 1), sr: pull("s", 2), dist: pull("d", 3) });
  assert.deepEqual(order, ["f", "s", "d", "s", "d", "f", "d", "f", "s"]);
  assert.deepEqual(t, { floor: [1, 1, 1], sr: [2, 2, 2], dist: [3, 3, 3] });
});

Deno.test("pullRow: PASS only within 1.05× the floor's median and under distribution's", () => {
  const row = (sr: number[], floor: number[], dist: number[]) =>
    pullRow("r", { sr, floor, dist }, "how");
  const ok = row([1040, 900, 5000], [1000, 990, 1010], [2000, 2000, 2000]);
  assert.equal(ok.pass, true);
  assert.deepEqual(ok.ratios, ["1.04×", "0.52×"]);
  assert.equal(ok.value, "1.04 s");
  assert.equal(row([1060, 1060, 1060], [1000, 1000, 1000], [2000, 2000, 2000]).pass, false);
  assert.equal(row([1000, 1000, 1000], [1000, 1000, 1000], [999, 999, 999]).pass, false);
  assert.match(ok.note ?? "", /^how; static-registry 1\.04, 0\.90, 5\.00 s, floor/);
});

const DIGEST = `sha256:${"ab".repeat(32)}`;
// What docker 28's CLI prints without a terminal (seen with the bench's private dockerd).
const pulled = (layer2: string, digest = DIGEST) =>
  [
    "latest: Pulling from bench/pull",
    "0c2a4e1f9b7d: Pulling fs layer",
    `9f8e7d6c5b4a: ${layer2}`,
    "0c2a4e1f9b7d: Pull complete",
    `Digest: ${digest}`,
    "Status: Downloaded newer image for 127.0.0.1:4000/bench/pull:latest",
    "127.0.0.1:4000/bench/pull:latest",
    "",
  ].join("\n");

Deno.test("checkDockerPull: accepts a full download of the digest asked for", () => {
  checkDockerPull("i", pulled("Pull complete"), DIGEST);
});

Deno.test("checkDockerPull: refuses a pull that kept a layer from an earlier one", () => {
  assert.throws(
    () => checkDockerPull("i", pulled("Already exists"), DIGEST),
    /docker pull i reused layers of an earlier pull/,
  );
});

Deno.test("checkDockerPull: refuses another digest, or none", () => {
  const other = `sha256:${"cd".repeat(32)}`;
  assert.throws(
    () => checkDockerPull("i", pulled("Pull complete", other), DIGEST),
    new RegExp(`pulled ${other}, not ${DIGEST}`),
  );
  assert.throws(() => checkDockerPull("i", "latest: Pulling from x\n", DIGEST), /pulled undefined/);
});
