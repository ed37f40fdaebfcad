/** identify(): who sent a request; the Basic fast path is synchronous once verified. */
import assert from "node:assert/strict";
import { identify } from "../../lib/auth/caller.ts";
import { parseHtpasswd, Users } from "../../lib/auth/htpasswd.ts";
import { Tokens } from "../../lib/auth/token.ts";
import { basic, bcryptLine } from "./fixture.ts";

Deno.test("identify(): Basic is verified once, then answered without a promise", async () => {
  const users = new Users(parseHtpasswd(bcryptLine("alice", "pw"), "f"));
  const ids = { users, tokens: await Tokens.create({ ttlMs: 60_000 }) };
  const first = identify(basic("alice", "pw"), ids);
  assert.ok(first instanceof Promise, "the first check runs bcrypt");
  assert.deepEqual(await first, { kind: "user", user: "alice" });
  assert.deepEqual(identify(basic("alice", "pw"), ids), { kind: "user", user: "alice" });
  assert.deepEqual(await identify(basic("alice", "nope"), ids), {
    kind: "invalid",
    what: "credentials",
  });
  assert.deepEqual(identify(null, ids), { kind: "anonymous" });
  assert.deepEqual(await identify("Bearer x.y.z", ids), { kind: "invalid", what: "token" });
});
