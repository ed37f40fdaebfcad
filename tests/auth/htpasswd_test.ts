/** parseHtpasswd(), Users and loadUsers(): bcrypt only, clear refusals, the success cache. */
import assert from "node:assert/strict";
import * as fs from "node:fs/promises";
import * as os from "node:os";
import * as path from "node:path";
import { AuthFileError, loadUsers, parseHtpasswd, Users } from "../../lib/auth/htpasswd.ts";
import { bcryptLine } from "./fixture.ts";

Deno.test("parseHtpasswd() reads bcrypt entries, skips comments and blank lines", () => {
  const text = `# users\n${bcryptLine("alice", "a")}\n\n${bcryptLine("bob", "b")}\r\n`;
  const users = parseHtpasswd(text, "u.htpasswd");
  assert.deepEqual([...users.keys()], ["alice", "bob"]);
  assert.match(users.get("alice")!, /^\$2y\$04\$/);
});

Deno.test("parseHtpasswd() refuses other hash kinds naming file, line and user, never the hash", () => {
  const cases: [string, RegExp][] = [
    ["carol:$apr1$abcdefgh$0123456789abcdefghijkl", /MD5 \(apr1\)/],
    ["carol:{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=", /SHA-1/],
    ["carol:$6$salt$" + "x".repeat(86), /crypt\(3\)/],
    ["carol:plaintext", /not a bcrypt hash/],
    ["carol:$2y$05$short", /malformed bcrypt/],
  ];
  for (const [line, kind] of cases) {
    const text = `${bcryptLine("alice", "a")}\n${line}\n`;
    assert.throws(() => parseHtpasswd(text, "u.htpasswd"), (e: Error) => {
      assert.ok(e instanceof AuthFileError);
      assert.equal((e as AuthFileError).exitCode, 2);
      assert.match(e.message, /^htpasswd "u\.htpasswd": line 2: user "carol": /);
      assert.match(e.message, kind);
      assert.match(e.message, /htpasswd -B/);
      assert.ok(!e.message.includes(line.slice(6)), `the hash leaked: ${e.message}`);
      return true;
    });
  }
  assert.throws(() => parseHtpasswd("nocolon\n", "f"), /line 1: expected "user:hash"/);
  assert.throws(
    () => parseHtpasswd(`${bcryptLine("a", "1")}\n${bcryptLine("a", "2")}`, "f"),
    /line 2: user "a" again/,
  );
});

Deno.test("Users.verify(): right, wrong, unknown; only successes are cached", async () => {
  const users = new Users(parseHtpasswd(bcryptLine("alice", "pw"), "f"));
  assert.equal(users.cached("alice", "pw"), false);
  assert.equal(await users.verify("alice", "pw"), true);
  assert.equal(users.cached("alice", "pw"), true);
  assert.equal(await users.verify("alice", "wrong"), false);
  assert.equal(users.cached("alice", "wrong"), false);
  assert.equal(await users.verify("nobody", "pw"), false);
  assert.equal(users.has("alice"), true);
  assert.notEqual(users.fingerprint("alice"), undefined);
  assert.equal(users.fingerprint("nobody"), undefined);
});

Deno.test("Users: a cached success expires with its TTL", async () => {
  const users = new Users(parseHtpasswd(bcryptLine("alice", "pw"), "f"), { cacheTtlMs: 30 });
  assert.equal(await users.verify("alice", "pw"), true);
  assert.equal(users.cached("alice", "pw"), true);
  await new Promise((r) => setTimeout(r, 60));
  assert.equal(users.cached("alice", "pw"), false);
});

Deno.test("loadUsers(): a missing file is an AuthFileError naming it", async () => {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), "sr-htpasswd-"));
  try {
    await assert.rejects(
      loadUsers(path.join(dir, "none")),
      (e: Error) =>
        e instanceof AuthFileError && /htpasswd ".*none": file not found/.test(e.message),
    );
    await fs.writeFile(path.join(dir, "ok"), bcryptLine("alice", "pw") + "\n");
    assert.deepEqual((await loadUsers(path.join(dir, "ok"))).names(), ["alice"]);
  } finally {
    await fs.rm(dir, { recursive: true });
  }
});
