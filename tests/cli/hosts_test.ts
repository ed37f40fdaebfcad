/**
 * @module
 * `static-registry hosts`: every host:port a client may be sent to, exactly — origins of
 * the root and of mounts, default ports explicit, IPv6 bracketed, presigned endpoints as
 * their signed URLs name them (path style or virtual-hosted), v1.origin — sorted, unique,
 * and as JSON.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs/promises";
import * as os from "node:os";
import * as path from "node:path";
import { main } from "../../lib/cli/main.ts";

const CONFIG = {
  store: "s3://images/registry",
  s3: { endpoint: "http://10.0.0.9:9000", forcePathStyle: true, region: "eu-west-1" },
  origins: [
    { name: "cdn-a", url: "https://cdn-a.example.com/registry" },
    { name: "cdn-b", url: "http://cdn-b.example.com:8080/" },
    { name: "dc-mirror", url: "http://[fd00::5]/reg" },
    { name: "bucket", url: "https://s3.example.com/images/registry", presign: { expires: "5m" } },
    { name: "cdn-a-again", url: "https://CDN-A.example.com:443/other" },
  ],
  mounts: [{
    prefix: "team-a",
    store: "s3://team-bucket/t",
    s3: { forcePathStyle: false },
    origins: [
      { name: "team-cdn", url: "http://team.example.com:80" },
      { name: "team-s3", url: "https://s3.eu-west-1.amazonaws.com", presign: { expires: "5m" } },
    ],
  }],
  v1: { origin: "https://v1.example.com" },
  routing: [{ clients: ["10.1.0.0/16"], origins: ["dc-mirror"] }, {
    clients: ["10.9.0.0/16"],
    stream: true,
  }],
};

/** Runs main(["hosts", ...]) with the config written to a temp file; stdout captured. */
async function hosts(doc: unknown, ...flags: string[]): Promise<{ code: number; out: string }> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), "sr-hosts-"));
  const out: string[] = [];
  const { log } = console;
  console.log = (...a: unknown[]) => void out.push(a.join(" "));
  try {
    const file = path.join(dir, "cfg.json");
    await fs.writeFile(file, JSON.stringify(doc));
    const code = await main(["hosts", "--config", file, ...flags], {});
    return { code, out: out.join("\n") };
  } finally {
    console.log = log;
    await fs.rm(dir, { recursive: true, force: true });
  }
}

Deno.test("hosts prints every host:port clients may be sent to, sorted, unique", async () => {
  const r = await hosts(CONFIG);
  assert.equal(r.code, 0);
  assert.equal(
    r.out,
    [
      "[fd00::5]:80",
      "cdn-a.example.com:443",
      "cdn-b.example.com:8080",
      "s3.example.com:443",
      "team-bucket.s3.eu-west-1.amazonaws.com:443",
      "team.example.com:80",
      "v1.example.com:443",
    ].join("\n"),
  );
});

Deno.test("hosts --json says what sends clients to each", async () => {
  const r = await hosts(CONFIG, "--json");
  assert.equal(r.code, 0);
  const doc = JSON.parse(r.out);
  assert.deepEqual(doc[0], {
    address: "[fd00::5]:80",
    host: "fd00::5",
    port: 80,
    for: ["dc-mirror"],
  });
  assert.deepEqual(doc[1], {
    address: "cdn-a.example.com:443",
    host: "cdn-a.example.com",
    port: 443,
    for: ["cdn-a", "cdn-a-again"],
  });
  assert.equal(doc.length, 7);
});

Deno.test("hosts: no origins prints nothing; usage errors exit 2", async () => {
  const r = await hosts({ store: "./data" });
  assert.equal(r.code, 0);
  assert.equal(r.out, "");
  assert.equal(await main(["hosts"], {}), 2);
  assert.equal(await main(["hosts", "--config", "/nonexistent/cfg.json"], {}), 2);
});
