/**
 * @module
 * openStore() for the s3:// and http(s):// kinds (the directory kind is tested with the
 * config): the right store, at the right place, with the configured client settings.
 */
import assert from "node:assert/strict";
import { openStore } from "../../lib/config/open_store.ts";
import { S3Store } from "../../lib/store/s3.ts";
import { HttpStore } from "../../lib/store/http.ts";
import { silentLogger } from "../../lib/log.ts";

Deno.test("openStore() opens an s3:// store with the s3 settings", async () => {
  const store = await openStore({
    kind: "s3",
    location: "s3://my-bucket/reg/v1",
    bucket: "my-bucket",
    prefix: "reg/v1",
    s3: {
      endpoint: "http://127.0.0.1:9",
      region: "eu-west-1",
      forcePathStyle: true, // lib/config's default with a custom endpoint (stores_test.ts)
      credentials: { accessKeyId: "AK", secretAccessKey: "SK" },
    },
  }, { log: silentLogger });
  assert.ok(store instanceof S3Store);
  assert.equal(store.location, "s3://my-bucket/reg/v1");
  assert.equal(store.objectKey("catalog.json"), "reg/v1/catalog.json");
  assert.equal(await store.client.config.region(), "eu-west-1");
  assert.equal(store.client.config.forcePathStyle, true, "path style with a custom endpoint");
  const creds = await store.client.config.credentials();
  assert.deepEqual([creds.accessKeyId, creds.secretAccessKey], ["AK", "SK"]);
  store.close();
});

Deno.test("openStore() opens an http(s):// store", async () => {
  const store = await openStore(
    { kind: "http", location: "https://cdn.example.com/r/", url: "https://cdn.example.com/r/" },
    { log: silentLogger },
  );
  assert.ok(store instanceof HttpStore);
  assert.equal(store.urlOf("catalog.json"), "https://cdn.example.com/r/catalog.json");
});

const CLIENT = { region: "us-east-1", forcePathStyle: true };

Deno.test("S3Store rejects a bad bucket or prefix", () => {
  assert.throws(() => new S3Store({ bucket: "", ...CLIENT }), /invalid S3 bucket name ""/);
  assert.throws(() => new S3Store({ bucket: "a/b", ...CLIENT }), /invalid S3 bucket name "a\/b"/);
  assert.throws(
    () => new S3Store({ bucket: "b", prefix: "x/../y", ...CLIENT }),
    /invalid store key "x\/..\/y"/,
  );
});
