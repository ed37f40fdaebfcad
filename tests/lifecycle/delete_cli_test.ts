/**
 * @module
 * `static-registry delete` and `publish --no-clobber` from the command line: every bad
 * argument refused with a message naming it (exit 2), unknown targets (exit 1), the
 * human and JSON reports, retention through flags, and the moved-tag line — the usage
 * table in-process (parseDeleteArgs), the rest through the COMPILED binary.
 */
import assert from "node:assert/strict";
import { makeOciLayout } from "../helpers/image.ts";
import { runBinary } from "../helpers/binary.ts";
import { readDoc, withTemp } from "../publish/helpers.ts";
import { parseDeleteArgs } from "../../lib/cli/delete.ts";
import { UsageError } from "../../lib/cli/usage.ts";

Deno.test("parseDeleteArgs(): each bad argument is a UsageError naming it", async (t) => {
  const D = `sha256:${"a".repeat(64)}`;
  const rows: [string[], RegExp][] = [
    [["app:1"], /--from <store> is required/],
    [["--from", "s"], /expected REPO:TAG or REPO@DIGEST/],
    [["app", "--from", "s"], /"app": name a tag \(app:TAG\) or a digest/],
    [["App:1", "--from", "s"], /"App:1": repository name "App"/],
    [["app:-x", "--from", "s"], /"app:-x": tag "-x" must match/],
    [["app@sha256:12", "--from", "s"], /"app@sha256:12": digest "sha256:12": sha256 needs 64/],
    [["app@md5:" + "a".repeat(32), "--from", "s"], /digest "md5:a+"/],
    [["--all", "--from", "s"], /--all needs a retention rule/],
    [
      ["--all", "app", "--keep-newest", "1", "--from", "s"],
      /--all takes no repositories, got "app"/,
    ],
    [
      ["--keep-newest", "1", "--from", "s"],
      /retention needs the repositories to apply to, or --all/,
    ],
    [
      ["app:1", "--keep-newest", "1", "--from", "s"],
      /repository "app:1": .*name repositories, not tags/,
    ],
    [
      ["app", "--keep-newest", "-1", "--from", "s"],
      /--keep-newest: needs a value, got the flag "-1"/,
    ],
    [
      ["app", "--keep-newest", "two", "--from", "s"],
      /--keep-newest: expected an integer from 0 to 1000000, got "two"/,
    ],
    [
      ["app", "--keep-tags", "(", "--from", "s"],
      /--keep-tags: not a regular expression .*, got "\("/,
    ],
    [
      ["app", "--keep-younger", "3d", "--from", "s"],
      /--keep-younger: expected a duration like "72h" or "30m", got "3d"/,
    ],
    [["app", "--keep-younger", "0s", "--from", "s"], /--keep-younger: expected a duration/],
    [["app:1", "--from", "s", "--force"], /unknown flag "--force"/],
  ];
  for (const [argv, want] of rows) {
    await t.step(argv.join(" "), () =>
      assert.throws(() => parseDeleteArgs(argv), (e) => {
        assert.ok(e instanceof UsageError, String(e));
        assert.match(e.message, want);
        return true;
      }));
  }
  await t.step("good forms", () => {
    assert.deepEqual(parseDeleteArgs(["a/b:1", `a/b@${D}`, "--from", "s", "--dry-run"]), {
      from: "s",
      config: undefined,
      dryRun: true,
      json: false,
      targets: [{ name: "a/b", tag: "1" }, { name: "a/b", digest: D }],
    });
    const r = parseDeleteArgs([
      "--all",
      "--keep-newest",
      "3",
      "--keep-younger",
      "1h30m",
      "--from",
      "s",
    ]);
    assert.ok(r !== "help");
    assert.deepEqual(r.retention, {
      repositories: "all",
      policy: { keepNewest: 3, keepTags: undefined, keepYoungerMs: 5_400_000 },
    });
  });
});

Deno.test("static-registry delete / publish --no-clobber: exit codes, reports, retention", () =>
  withTemp(async (tmp) => {
    const a = await makeOciLayout(`${tmp}/a`, { tag: "v1", seed: "cli-a" });
    const b = await makeOciLayout(`${tmp}/b`, { tag: "v1", seed: "cli-b" });
    const store = `${tmp}/store`;
    const ok = async (args: string[]) => {
      const r = await runBinary(args);
      assert.equal(r.code, 0, `${args.join(" ")}:\n${r.stderr}`);
      return r;
    };
    for (const tag of ["1.0", "1.1", "stable", "latest"]) {
      await ok(["publish", `oci:${tmp}/a:v1`, `app:${tag}`, "--to", store]);
    }

    // --no-clobber: a move is refused (exit 1, both digests named); the same digest is fine.
    const refused = await runBinary([
      "publish",
      `oci:${tmp}/b:v1`,
      "app:1.0",
      "--to",
      store,
      "--no-clobber",
    ]);
    assert.equal(refused.code, 1, refused.stderr);
    assert.match(
      refused.stderr,
      new RegExp(
        `tag "1.0" already points at ${a.rootDigest}; --no-clobber refuses to move it to ${b.rootDigest}`,
      ),
    );
    await ok(["publish", `oci:${tmp}/a:v1`, "app:1.0", "--to", store, "--no-clobber"]);
    // Without it the tag moves, and publish says so (line, and `moved` in --json).
    const moved = await ok(["publish", `oci:${tmp}/b:v1`, "app:1.0", "--to", store]);
    assert.match(
      moved.stdout,
      new RegExp(`^moved tag app:1\\.0 ${a.rootDigest} → ${b.rootDigest}$`, "m"),
    );
    const back = await ok(["publish", `oci:${tmp}/a:v1`, "app:1.0", "--to", store, "--json"]);
    const json = JSON.parse(back.stdout);
    assert.deepEqual([json.moved.from, json.moved.to], [b.rootDigest, a.rootDigest]);

    // Usage errors exit 2, unknown targets 1, and neither writes.
    const index = await Deno.readTextFile(`${store}/repositories/app/_index.json`);
    const bad = await runBinary(["delete", "app", "--from", store]);
    assert.equal(bad.code, 2, bad.stderr);
    assert.match(bad.stderr, /"app": name a tag/);
    for (
      const [args, want] of [
        [["app:9"], /repository "app" has no tag "9"/],
        [[`app@${b.rootDigest}`], /repository "app" holds no manifest/],
        [["nope:1"], /repository "nope" is not in store/],
      ] as const
    ) {
      const r = await runBinary(["delete", ...args, "--from", store]);
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, want);
    }
    const missing = await runBinary(["delete", "app:1", "--from", `${tmp}/empty`]);
    assert.equal(missing.code, 2, missing.stderr); // never created: a config error
    assert.match(missing.stderr, /store ".*\/empty": directory not found/);
    await Deno.mkdir(`${tmp}/empty`);
    const notStore = await runBinary(["delete", "app:1", "--from", `${tmp}/empty`]);
    assert.equal(notStore.code, 1, notStore.stderr);
    assert.match(notStore.stderr, /empty is not a static-registry store/);
    assert.equal(await Deno.readTextFile(`${store}/repositories/app/_index.json`), index);

    // Retention, dry run first: keep the newest and anything called stable. 1.0 was moved
    // last, so it is the newest; 1.1 and latest go.
    const retention = ["delete", "--all", "--keep-newest", "1", "--keep-tags", "^stable$"];
    const dry = await ok([...retention, "--from", store, "--dry-run"]);
    assert.equal(
      dry.stdout,
      [
        `would delete tag app:1.1 (${a.rootDigest})`,
        `would delete tag app:latest (${a.rootDigest})`,
        "app: 2 tag(s), 0 manifest(s) and 0 blob entries would leave the tag index",
        "dry run: nothing was changed",
        "",
      ].join("\n"),
    );
    assert.equal(await Deno.readTextFile(`${store}/repositories/app/_index.json`), index);
    const done = await ok([...retention, "--from", store, "--json"]);
    const report = JSON.parse(done.stdout);
    assert.equal(report.dryRun, false);
    assert.deepEqual(
      report.repositories.map((r: { tags: { tag: string }[] }) => r.tags.map((t) => t.tag)),
      [[
        "1.1",
        "latest",
      ]],
    );
    assert.deepEqual(
      Object.keys((await readDoc<{ tags: object }>(store, "repositories/app/_index.json")).tags)
        .sort(),
      [
        "1.0",
        "stable",
      ],
    );

    // The last two tags: the repository leaves the catalog.
    const last = await ok(["delete", "app:1.0", `app@${a.rootDigest}`, "--from", store]);
    assert.match(last.stdout, /the repository left the catalog/);
    assert.match(last.stdout, /reclaims them/);
    assert.deepEqual((await readDoc(store, "catalog.json")).repositories, {});
  }));
