/**
 * @module
 * chooseEgress() as a table (client × rules × health → egress), planEgress() across
 * mounts, and createOrigins(): locate() follows the chosen order and names the origin
 * it redirected to; egress() never asks for the client address without rules.
 */
import assert from "node:assert/strict";
import {
  chooseEgress,
  type Egress,
  planEgress,
  type RoutingRule,
} from "../../lib/origins/routing.ts";
import { createOrigins } from "../../lib/origins/origins.ts";
import { silentLogger } from "../../lib/log.ts";
import { FakeFetch, fromConfig } from "./fake.ts";

const NAMES = ["cdn-a", "cdn-b", "dc-mirror", "dc-backup"];
const DC: RoutingRule = {
  clients: ["10.1.0.0/16", "fd00::/8"],
  origins: ["dc-mirror", "dc-backup"],
  stream: false,
};
const CLOSED: RoutingRule = { clients: ["10.9.0.0/16"], origins: [], stream: true };
/** A rule whose CIDR overlaps DC's: never reached for 10.1/16 when DC comes first. */
const WIDE: RoutingRule = { clients: ["10.0.0.0/8"], origins: ["cdn-b"], stream: false };

interface Row {
  description: string;
  client: string | undefined;
  rules?: RoutingRule[];
  fallback?: "none" | "stream";
  /** Names of the origins that are down. */
  down?: string[];
  want: Egress;
}

const rows: Row[] = [
  { description: "no rules: default order", client: "10.1.2.3", want: { redirect: [0, 1, 2, 3] } },
  {
    description: "IPv4 client in a rule: its order",
    client: "10.1.2.3",
    rules: [DC],
    want: { redirect: [2, 3] },
  },
  {
    description: "IPv4-mapped IPv6 client matches the IPv4 rule",
    client: "::ffff:10.1.2.3",
    rules: [DC],
    want: { redirect: [2, 3] },
  },
  {
    description: "IPv6 client in a rule",
    client: "fd00::1234",
    rules: [DC],
    want: { redirect: [2, 3] },
  },
  {
    description: "client outside every rule: default order",
    client: "192.168.1.1",
    rules: [DC],
    want: { redirect: [0, 1, 2, 3] },
  },
  {
    description: "unknown client address: default order",
    client: undefined,
    rules: [DC],
    want: { redirect: [0, 1, 2, 3] },
  },
  {
    description: "unreadable client address: default order",
    client: "not-an-ip",
    rules: [DC],
    want: { redirect: [0, 1, 2, 3] },
  },
  {
    description: "one of the rule's origins healthy: still the rule's order",
    client: "10.1.2.3",
    rules: [DC],
    down: ["dc-mirror"],
    want: { redirect: [2, 3] },
  },
  {
    description: "none of the rule's origins healthy: the default order",
    client: "10.1.2.3",
    rules: [DC],
    down: ["dc-mirror", "dc-backup"],
    want: { redirect: [0, 1, 2, 3] },
  },
  {
    description: "first matching rule wins over a later, wider one",
    client: "10.1.2.3",
    rules: [DC, WIDE],
    want: { redirect: [2, 3] },
  },
  {
    description: "first match's origins down: default order, not the next rule",
    client: "10.1.2.3",
    rules: [DC, WIDE],
    down: ["dc-mirror", "dc-backup"],
    want: { redirect: [0, 1, 2, 3] },
  },
  {
    description: "a wider rule first takes the narrower rule's clients",
    client: "10.1.2.3",
    rules: [WIDE, DC],
    want: { redirect: [1] },
  },
  {
    description: "stream rule",
    client: "10.9.0.7",
    rules: [DC, CLOSED],
    want: { stream: "rule" },
  },
  {
    description: "stream rule holds with every origin healthy",
    client: "::ffff:10.9.0.7",
    rules: [CLOSED],
    fallback: "stream",
    want: { stream: "rule" },
  },
  {
    description: "every origin down, fallback stream",
    client: "192.168.1.1",
    rules: [DC],
    fallback: "stream",
    down: NAMES,
    want: { stream: "fallback" },
  },
  {
    description: "every origin down, rule client, fallback stream",
    client: "10.1.2.3",
    rules: [DC],
    fallback: "stream",
    down: NAMES,
    want: { stream: "fallback" },
  },
  {
    description: "every origin down, no fallback: the default order (locate answers 503)",
    client: "10.1.2.3",
    rules: [DC],
    down: NAMES,
    want: { redirect: [0, 1, 2, 3] },
  },
  {
    description: "one origin up, fallback stream: redirect",
    client: "192.168.1.1",
    fallback: "stream",
    down: ["cdn-a", "cdn-b", "dc-mirror"],
    want: { redirect: [0, 1, 2, 3] },
  },
];

Deno.test("chooseEgress(): the table", async (t) => {
  for (const r of rows) {
    await t.step(r.description, () => {
      const plan = planEgress({ rules: r.rules ?? [], fallback: r.fallback ?? "none" }, NAMES);
      const down = new Set((r.down ?? []).map((n) => NAMES.indexOf(n)));
      assert.deepEqual(chooseEgress(r.client, plan, (i) => !down.has(i)), r.want);
    });
  }
});

Deno.test("planEgress(): each store applies rules to its own origins, by name", () => {
  const rules: RoutingRule[] = [
    { clients: ["10.1.0.0/16"], origins: ["root-dc"], stream: false },
    { clients: ["10.1.0.0/16"], origins: ["team-dc", "root-dc", "team-cdn"], stream: false },
    CLOSED,
  ];
  const root = planEgress({ rules, fallback: "none" }, ["root-cdn", "root-dc"]);
  const team = planEgress({ rules, fallback: "none" }, ["team-cdn", "team-dc"]);
  const up = () => true;
  assert.deepEqual(chooseEgress("10.1.0.1", root, up), { redirect: [1] }, "root: rule 0");
  // Rule 0 names no origin of the mount: skipped for it, so rule 1 applies, with only
  // the mount's own origins in its order.
  assert.deepEqual(chooseEgress("10.1.0.1", team, up), { redirect: [1, 0] });
  assert.deepEqual(chooseEgress("10.9.0.1", team, up), { stream: "rule" }, "stream: every store");
});

Deno.test("createOrigins(): locate() follows the order and sets the origin's name", async () => {
  const f = new FakeFetch()
    .set("http://a.test/static-registry.json", { status: 200 })
    .set("http://b.test/static-registry.json", { status: 200 });
  const o = createOrigins({
    ...fromConfig({
      origins: [{ name: "a", url: "http://a.test" }, { name: "b", url: "http://b.test" }],
      routing: [{ clients: ["127.0.0.2"], origins: ["b"] }],
      health: { interval: "1s", timeout: "50ms", rise: 1, fall: 1 },
    }),
    log: silentLogger,
    fetch: f.fetch,
  });
  await o.health.checkAll();
  const d = "sha256:" + "ab".repeat(32);
  const routed = { client: "127.0.0.2", origin: undefined as string | undefined };
  const e = o.egress(routed);
  assert.ok("redirect" in e);
  assert.equal(o.locate(d, 1, e.redirect, routed), `http://b.test/blobs/sha256/${"ab".repeat(32)}`);
  assert.equal(routed.origin, "b");
  const other = { client: "127.0.0.3", origin: undefined as string | undefined };
  const e2 = o.egress(other);
  assert.ok("redirect" in e2);
  assert.match(String(o.locate(d, 1, e2.redirect, other)), /^http:\/\/a\.test\//);
  assert.equal(other.origin, "a");
  assert.deepEqual(o.stats().origins.map((s) => s.redirects), [1, 1]);
  o.stop();
});

Deno.test("createOrigins(): egress() reads no client address without rules", () => {
  const o = createOrigins({
    ...fromConfig({ origins: [{ name: "a", url: "http://a.test" }] }),
    log: silentLogger,
    fetch: new FakeFetch().fetch,
  });
  const c = {
    get client(): string | undefined {
      throw new Error("asked for the client address");
    },
  };
  assert.deepEqual(o.egress(c), { redirect: [0] });
});
