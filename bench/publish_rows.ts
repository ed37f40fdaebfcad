/**
 * @module
 * Publish rows, into s3rver (bench/objectstore.ts):
 *   - MB/s of `static-registry publish` of a ~64 MiB image vs a plain @aws-sdk/lib-storage
 *     multipart upload of the same bytes (bench/upload.ts), both run as a fresh process on
 *     Bun and timed wall-clock from spawn to exit (start-up included on both sides);
 *   - re-publishing an unchanged 50-layer image: wall time, and how many blob objects were
 *     written again (files under s3rver's data dir whose mtime changed: a count the object
 *     store gives, not one the publisher reports about itself).
 */
import * as path from "node:path";
import { makeOciLayout } from "../tests/helpers/image.ts";
import { startS3rver } from "./objectstore.ts";
import { ratio, type Row } from "./table.ts";

const BUCKET = "bench";

async function timed(cmd: string, args: string[], env: Record<string, string>) {
  const t0 = performance.now();
  const r = await new Deno.Command(cmd, { args, env, stdin: "null" }).output();
  const seconds = (performance.now() - t0) / 1000;
  const dec = new TextDecoder();
  if (r.code !== 0) {
    throw new Error(
      `${cmd} ${args.join(" ")} exited ${r.code}:\n${dec.decode(r.stderr)}${dec.decode(r.stdout)}`,
    );
  }
  return { seconds, stdout: dec.decode(r.stdout) };
}

/** mtimes (ns) of every file under `dir`, by relative path. */
async function mtimes(dir: string): Promise<Map<string, bigint>> {
  const out = new Map<string, bigint>();
  const walk = async (d: string) => {
    for await (const e of Deno.readDir(d)) {
      const p = path.join(d, e.name);
      if (e.isDirectory) await walk(p);
      else {out.set(
          path.relative(dir, p),
          BigInt(Math.round((await Deno.stat(p)).mtime!.getTime() * 1e6)),
        );}
    }
  };
  await walk(dir).catch((e) => {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  });
  return out;
}

/** Options: image size for the MB/s rows, how many runs of each (best is kept). */
export interface PublishOptions {
  root: string;
  bin: string;
  workDir: string;
  layers: number;
  layerSize: number;
  runs: number;
}

/** The environment the publisher and the plain uploader get (s3rver's fixed key). */
function s3env(endpoint: string): Record<string, string> {
  return {
    AWS_ENDPOINT_URL_S3: endpoint,
    AWS_ENDPOINT_URL: endpoint,
    AWS_ACCESS_KEY_ID: "S3RVER",
    AWS_SECRET_ACCESS_KEY: "S3RVER",
    AWS_REGION: "us-east-1",
  };
}

/** `publish` into `s3://bench/<prefix>`. */
function publishArgs(
  layout: string,
  ref: string,
  prefix: string,
  endpoint: string,
) {
  return [
    "publish",
    `oci:${layout}:v1`,
    ref,
    "--to",
    `s3://${BUCKET}/${prefix}`,
    "--s3-endpoint",
    endpoint,
    "--json",
  ];
}

export async function publishRows(o: PublishOptions): Promise<Row[]> {
  const layout = `${o.workDir}/publish-image`;
  const image = await makeOciLayout(layout, {
    tag: "v1",
    layers: o.layers,
    layerSize: o.layerSize,
    seed: "publish",
  });
  const files = Object.keys(image.sizes).map((d) => `${layout}/blobs/sha256/${d.slice(7)}`);
  const bytes = Object.values(image.sizes).reduce((a, b) => a + b, 0);
  const many = `${o.workDir}/publish-50`;
  await makeOciLayout(many, { tag: "v1", layers: 50, layerSize: 64 * 1024, seed: "republish" });

  const s3 = await startS3rver(o.root, o.workDir, BUCKET);
  const env = s3env(s3.endpoint);
  try {
    const plain: number[] = [];
    const pub: number[] = [];
    for (let i = 0; i < o.runs; i++) {
      plain.push(
        (await timed("bun", [
          `${o.root}/bench/upload.ts`,
          "--endpoint",
          s3.endpoint,
          "--bucket",
          BUCKET,
          "--key",
          `plain-${i}/all`,
          ...files,
        ], env)).seconds,
      );
      pub.push(
        (await timed(o.bin, publishArgs(layout, "bench/pub:v1", `sr-${i}`, s3.endpoint), env))
          .seconds,
      );
    }
    const mbps = (s: number) => bytes / 1e6 / s;
    const best = (xs: number[]) => Math.min(...xs);
    const rows: Row[] = [{
      name: `publish ${(bytes / 1048576).toFixed(0)} MiB (${o.layers} layers) into s3rver`,
      value: `${mbps(best(pub)).toFixed(1)} MB/s`,
      baselines: [`lib-storage multipart ${mbps(best(plain)).toFixed(1)} MB/s`],
      ratios: [ratio(best(plain), best(pub))],
      target: "≥ 0.8× plain upload",
      pass: best(plain) / best(pub) >= 0.8,
      note: `best of ${o.runs}; wall clock spawn → exit; publish ${
        pub.map((s) => s.toFixed(2)).join(", ")
      } s, plain ${plain.map((s) => s.toFixed(2)).join(", ")} s`,
    }];

    await timed(o.bin, publishArgs(many, "bench/many:v1", "re", s3.endpoint), env);
    const blobsDir = `${s3.dataDir}/${BUCKET}/re/blobs`;
    const before = await mtimes(blobsDir);
    if (before.size === 0) throw new Error(`no objects under ${blobsDir} after the first publish`);
    await new Promise((r) => setTimeout(r, 20)); // mtimes must be able to differ
    const again = await timed(o.bin, publishArgs(many, "bench/many:v1", "re", s3.endpoint), env);
    const after = await mtimes(blobsDir);
    const rewritten = [...after].filter(([k, t]) => before.get(k) !== t).length;
    rows.push({
      name: "re-publish unchanged 50-layer image",
      value: `${again.seconds.toFixed(2)} s, ${rewritten} blob objects written`,
      baselines: [],
      ratios: [],
      target: "< 2 s, 0 blob uploads",
      pass: again.seconds < 2 && rewritten === 0,
      note: `publish --json: ${again.stdout.trim().replace(/\s+/g, " ").slice(0, 300)}`,
    });
    return rows;
  } finally {
    await s3.stop();
  }
}
