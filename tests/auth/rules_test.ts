/** AccessRules: whole-component prefixes, the longest wins, uncovered names denied. */
import assert from "node:assert/strict";
import { AccessRules, covers } from "../../lib/auth/rules.ts";

Deno.test("covers() matches whole name components", () => {
  assert.equal(covers("team-a", "team-a"), true);
  assert.equal(covers("team-a", "team-a/x"), true);
  assert.equal(covers("team-a", "team-ab"), false);
  assert.equal(covers("team-a", "team"), false);
  assert.equal(covers("", "anything/at/all"), true);
});

Deno.test("AccessRules.mayPull(): the longest prefix decides", () => {
  const rules = new AccessRules([
    { prefix: "", pull: "authenticated" },
    { prefix: "team-a", pull: ["alice"] },
    { prefix: "team-a/public", pull: "anyone" },
  ]);
  const table: [string | undefined, string, boolean][] = [
    [undefined, "team-a/public/x", true],
    [undefined, "team-a/x", false],
    ["bob", "team-a/x", false],
    ["alice", "team-a/x", true],
    ["alice", "team-a", true],
    ["bob", "team-ab", true],
    [undefined, "team-ab", false],
    ["bob", "other", true],
  ];
  for (const [user, name, want] of table) {
    assert.equal(rules.mayPull(user, name), want, `${user} ${name}`);
  }
});

Deno.test("AccessRules: a name no rule covers is denied to everyone", () => {
  const rules = new AccessRules([{ prefix: "public", pull: "anyone" }]);
  assert.equal(rules.mayPull(undefined, "public/x"), true);
  assert.equal(rules.mayPull("alice", "private/x"), false);
  assert.equal(rules.ruleFor("private/x"), undefined);
});

Deno.test("AccessRules: named users and restricted prefixes", () => {
  const rules = new AccessRules([
    { prefix: "a", pull: ["alice", "bob"] },
    { prefix: "b", pull: ["bob"] },
    { prefix: "c", pull: "anyone" },
    { prefix: "", pull: "authenticated" },
  ]);
  assert.deepEqual(rules.namedUsers().sort(), ["alice", "bob"]);
  assert.deepEqual(rules.restrictedPrefixes().sort(), ["", "a", "b"]);
});
