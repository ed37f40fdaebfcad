/**
 * @module
 * The e2e process helpers themselves: a daemon that dies early fails with its output, a
 * daemon that ignores SIGTERM is SIGKILLed by PID, a command past its bound is killed, and
 * freePort() gives a port that can be bound.
 */
import assert from "node:assert/strict";
import { run, spawnDaemon } from "../helpers/process.ts";
import { freePort } from "../helpers/ports.ts";

Deno.test("spawnDaemon() reports the exit status and output of a daemon that dies early", async () => {
  await assert.rejects(
    spawnDaemon({
      name: "dies",
      cmd: "sh",
      args: ["-c", "echo 'bad config: listen' >&2; exit 3"],
      ready: () => Promise.resolve(false),
    }),
    /dies exited with status 3 before it was ready:\nbad config: listen/,
  );
});

Deno.test("spawnDaemon() stop() escalates to SIGKILL when SIGTERM is ignored", async () => {
  const flag = await Deno.makeTempFile();
  await Deno.remove(flag);
  // Ready only once the trap is set: a SIGTERM before it would end the shell at once.
  const d = await spawnDaemon({
    name: "stubborn",
    cmd: "sh",
    args: ["-c", `trap '' TERM; touch ${flag}; while :; do sleep 0.05; done`],
    ready: () => Deno.stat(flag).then(() => true),
  });
  await Deno.remove(flag);
  const t0 = Date.now();
  await d.stop(300);
  assert.equal(await d.exited, 137, "killed by SIGKILL");
  assert.ok(Date.now() - t0 >= 300, "waited the grace period first");
});

Deno.test("spawnDaemon() gives up after timeoutMs and stops the process", async () => {
  await assert.rejects(
    spawnDaemon({
      name: "slow",
      cmd: "sleep",
      args: ["30"],
      timeoutMs: 300,
      ready: () => Promise.resolve(false),
    }),
    /slow did not become ready in 300 ms/,
  );
});

Deno.test("run() kills a command that outlives its bound", async () => {
  await assert.rejects(run("sleep", ["10"], { timeoutMs: 200 }), /sleep 10: killed after 200 ms/);
});

Deno.test("freePort() returns a port on 127.0.0.1 that can be bound", () => {
  const port = freePort();
  const l = Deno.listen({ hostname: "127.0.0.1", port });
  l.close();
});
