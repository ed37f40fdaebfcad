/**
 * @module
 * The whole-pull rows' own logic (bench/pull_rows.ts): the rotation of the alternated
 * pulls, the verdict against issue 13's target, and the check that a docker pull really
 * downloaded every layer of the image it was asked for, and when its fetch phase ended.
 */
import assert from "node:assert/strict";
import { alternated, checkDockerPull, fetchPhase, pullRow } from "../../bench/pull_rows.ts";

Deno.test("alternated: every system once per round, the first one rotated each round", async () => {
  const order: string[] = [];
  const pull = (k: string, ms: number) => () => (order.push(k), Promise.resolve(ms));
  const t = await alternated(4, {
    floor: pull("f", 1),
    redirect: pull("r", 4),
    sr: pull("s", 2),
    dist: pull("d", 3),
  });
  assert.deepEqual(order.join(""), "frsd" + "rsdf" + "sdfr" + "dfrs");
  assert.deepEqual(t, {
    floor: [1, 1, 1, 1],
    redirect: [4, 4, 4, 4],
    sr: [2, 2, 2, 2],
    dist: [3, 3, 3, 3],
  });
});

Deno.test("pullRow: PASS only within 1.05× the floor's median and under distribution's; the nginx 307 reference is reported, not judged", () => {
  const row = (sr: number[], floor: number[], dist: number[], redirect = [1200, 1200, 1200]) =>
    pullRow("r", { sr, floor, dist, redirect }, "how");
  const ok = row([1040, 900, 5000], [1000, 990, 1010], [2000, 2000, 2000]);
  assert.equal(ok.pass, true);
  assert.deepEqual(ok.ratios, ["1.04×", "0.52×"]);
  assert.equal(ok.value, "1.04 s");
  assert.equal(row([1060, 1060, 1060], [1000, 1000, 1000], [2000, 2000, 2000]).pass, false);
  assert.equal(row([1000, 1000, 1000], [1000, 1000, 1000], [999, 999, 999]).pass, false);
  assert.match(ok.note ?? "", /^how; static-registry 1\.04, 0\.90, 5\.00 s, floor/);
  assert.match(ok.note ?? "", /return 307 to the same file: 1\.20 s, 1\.20× the floor/);
  // However slow or fast the reference, the verdict is the same.
  assert.equal(row([1040, 900, 5000], [1000, 990, 1010], [2000, 2000, 2000], [900]).pass, true);
  assert.equal(row([1060, 1060, 1060], [1000, 1000, 1000], [2000, 2000, 2000], [2000]).pass, false);
});

const DIGEST = `sha256:${"ab".repeat(32)}`;
const IMAGE = "127.0.0.1:43239/bench/pull:latest";
// What docker 28's CLI printed without a terminal, pulling a 2-layer image from
// static-registry through the bench's private dockerd (digest replaced).
const FULL = [
  "latest: Pulling from bench/pull",
  "2f4298131297: Pulling fs layer",
  "e2922c72136a: Pulling fs layer",
  "2f4298131297: Verifying Checksum",
  "2f4298131297: Download complete",
  "e2922c72136a: Verifying Checksum",
  "e2922c72136a: Download complete",
  "2f4298131297: Pull complete",
  "e2922c72136a: Pull complete",
  `Digest: ${DIGEST}`,
  `Status: Downloaded newer image for ${IMAGE}`,
  IMAGE,
  "",
].join("\n");

Deno.test("checkDockerPull: accepts a full download of the digest asked for", () => {
  checkDockerPull(IMAGE, FULL, DIGEST, 2);
});

Deno.test("checkDockerPull: refuses a pull that kept a layer from an earlier one", () => {
  const kept = FULL.split("\n").filter((l) => !l.startsWith("e2922c72136a:"));
  kept.splice(1, 0, "e2922c72136a: Already exists");
  assert.throws(
    () => checkDockerPull(IMAGE, kept.join("\n"), DIGEST, 2),
    /downloaded 1 of 2 layers \(1 kept from an earlier pull\)/,
  );
});

Deno.test("checkDockerPull: refuses a pull of an image dockerd still had (no layer lines)", () => {
  // Seen with the image still tagged under another name: only the digest is printed.
  const cached = [
    "latest: Pulling from bench/pull",
    `Digest: ${DIGEST}`,
    `Status: Downloaded newer image for ${IMAGE}`,
    IMAGE,
  ].join("\n");
  assert.throws(() => checkDockerPull(IMAGE, cached, DIGEST, 2), /downloaded 0 of 2 layers/);
});

Deno.test("checkDockerPull: refuses another digest, or none", () => {
  const other = `sha256:${"cd".repeat(32)}`;
  assert.throws(
    () => checkDockerPull(IMAGE, FULL.replace(DIGEST, other), DIGEST, 2),
    new RegExp(`pulled ${other}, not ${DIGEST}`),
  );
  assert.throws(
    () => checkDockerPull(IMAGE, "latest: Pulling from x\n", DIGEST, 2),
    /pulled undefined/,
  );
});

Deno.test("fetchPhase: the time of the last layer's download end, not of the unpacking", () => {
  const lines = FULL.split("\n").map((line, i) => ({ at: i * 10, line }));
  // "e2922c72136a: Download complete" is line 6; the Pull complete lines come after.
  assert.equal(fetchPhase(IMAGE, lines, 2), 60);
  // A layer seen twice counts at its last download line.
  const twice = [...lines.slice(0, 7), { at: 65, line: "e2922c72136a: Download complete" }];
  assert.equal(fetchPhase(IMAGE, twice, 2), 65);
});

Deno.test("fetchPhase: a layer whose download lines dockerd skipped ends at its next line", () => {
  // Only the latest progress reaches a watcher: seen as 19 of 20 "Download complete".
  const skipped = FULL.split("\n").map((line, i) => ({ at: i * 10, line }))
    .filter((l) => !/^e2922c72136a: (Verifying Checksum|Download complete)$/.test(l.line));
  // Its "Pull complete" (line 8) bounds it.
  assert.equal(fetchPhase(IMAGE, skipped, 2), 80);
});

Deno.test("fetchPhase: refuses a pull where a layer was never downloaded", () => {
  const lines = FULL.split("\n").filter((l) => !l.startsWith("e2922c72136a:") || /Pulling/.test(l))
    .map((line, i) => ({ at: i, line }));
  assert.throws(() => fetchPhase(IMAGE, lines, 2), /1 of 2 layers were downloaded/);
});
