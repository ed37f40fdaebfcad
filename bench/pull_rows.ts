/**
 * @module
 * Whole pulls, what users feel (issue 13): the wall time of `skopeo copy docker://… oci:…`
 * of one image (20 layers, about 100 MB) through
 *   - static-registry, blobs by 307 from an nginx origin serving its store;
 *   - nginx serving the same pull as static files (manifest and blobs under `/v2/…`): the
 *     floor, nothing a registry could do is faster;
 *   - distribution (Debian's docker-registry), blobs by 307 from the same nginx serving its
 *     storage directory (its `redirect` middleware): the like-for-like registry;
 *   - the floor's nginx answering every blob GET with `return 307` to the same file (a
 *     reference, not judged): what the redirect itself costs a client, with no registry.
 *     Most of static-registry's distance from the floor is this (2026-12-03, 15 skopeo
 *     pulls each: floor 442 ms, nginx 307 447 ms, static-registry 454 ms).
 * The three are alternated, round after round, the first of a round rotated (floor,
 * static-registry, distribution; static-registry, distribution, floor; …), and compared by
 * their medians: one pull each, minutes apart, would measure the drift of
 * a shared machine. Also `publish docker://` of that image from distribution into a
 * directory store against `skopeo copy docker:// oci:` of the same image, alternated too.
 *
 * The same three pulls with `docker pull` from a private dockerd (tests/helpers/
 * client_daemons.ts: overlay2 where the kernel and the data root allow it, else vfs with the
 * reason in the row's note; no iptables, no bridge, its own data root, exec root, pidfile and
 * sockets in a temp dir, stopped by PID). dockerd takes 127.0.0.0/8 as insecure, so plain
 * HTTP works. docker HEADs the manifest by tag, then GETs it by digest: the floor's manifest
 * location answers both with the manifest's media type and digest. Only the pull is timed
 * (dockerd already up); the image is removed after each pull and dockerd checked to hold no
 * image (so no layer), and every pull is checked to have downloaded every layer ("Pull
 * complete" for each) and to have pulled the image's digest. Under vfs each layer's parent
 * is copied before the layer is unpacked, so local copying swamped the registry's share
 * (single pulls 5.2-7.4 s, the three indistinguishable); overlay2 unpacks each layer once.
 */
import { makeOciLayout } from "../tests/helpers/image.ts";
import { startContainerd, startDockerd, unmountUnder } from "../tests/helpers/client_daemons.ts";
import type { Daemon } from "../tests/helpers/process.ts";
import { startDistribution } from "./distribution.ts";
import { freePort, runOk, waitFor } from "./proc.ts";
import { runNginx } from "./nginx.ts";
import { startRegistry } from "./registry.ts";
import { errorRow, ratio, type Row } from "./table.ts";

const REPO = "bench/pull";
const TAG = "latest";
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const secs = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

/**
 * nginx: the static floor on `/v2/`, and both origins (`/base/` our store, `/docker/`
 * distribution's); on a second port the same registry API with every blob a `return 307` to
 * `/base/` on the first (the redirect's own cost).
 */
async function startFloor(
  workDir: string,
  store: string,
  distStorage: string,
  manifest: { digest: string; mediaType: string },
) {
  const prefix = `${workDir}/nginx-pull`;
  await Deno.mkdir(`${prefix}/tmp`, { recursive: true });
  const port = freePort();
  const api = "add_header Docker-Distribution-API-Version registry/2.0 always;";
  const user = Deno.uid() === 0 ? "user root;" : "";
  const hex = manifest.digest.slice("sha256:".length);
  const redirectPort = freePort();
  const registryApi = `location = /v2/ { ${api} default_type application/json; return 200 '{}'; }
    location ~ "^/v2/${REPO}/manifests/(${TAG}|sha256:${hex})$" {
      ${api} add_header Docker-Content-Digest ${manifest.digest};
      types { } default_type ${manifest.mediaType};
      alias ${store}/blobs/sha256/${hex};
    }`;
  const conf = `${user}
worker_processes 1;
daemon off;
pid ${prefix}/nginx.pid;
events { worker_connections 1024; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  keepalive_requests 1000000;
  client_body_temp_path ${prefix}/tmp/body; proxy_temp_path ${prefix}/tmp/proxy;
  fastcgi_temp_path ${prefix}/tmp/fcgi; uwsgi_temp_path ${prefix}/tmp/uwsgi; scgi_temp_path ${prefix}/tmp/scgi;
  server {
    listen 127.0.0.1:${port};
    ${registryApi}
    location ~ "^/v2/${REPO}/blobs/sha256:([a-f0-9]{64})$" {
      ${api} types { } default_type application/octet-stream;
      alias ${store}/blobs/sha256/$1;
    }
    location /base/ { alias ${store}/; }
    # distribution's redirect middleware keeps only the scheme and host of its baseurl.
    location /docker/ { alias ${distStorage}/docker/; }
  }
  server {
    listen 127.0.0.1:${redirectPort};
    ${registryApi}
    location ~ "^/v2/${REPO}/blobs/sha256:([a-f0-9]{64})$" {
      ${api} return 307 http://127.0.0.1:${port}/base/blobs/sha256/$1;
    }
  }
}
`;
  const { proc, url } = await runNginx("nginx", prefix, conf, port, "/v2/");
  return { url, redirectUrl: `http://127.0.0.1:${redirectPort}`, stop: () => proc.stop() };
}

/** Wall time (ms) of one command, its output thrown away. */
async function timed(cmd: string, args: string[]): Promise<number> {
  const t0 = performance.now();
  await runOk(cmd, args);
  return performance.now() - t0;
}

/** `skopeo copy` of the image from `host` into a fresh oci: dir. */
async function skopeoPull(host: string, into: string): Promise<number> {
  await Deno.remove(into, { recursive: true }).catch(() => {});
  const ms = await timed("skopeo", [
    "copy",
    "--quiet",
    "--src-tls-verify=false",
    `docker://${host}/${REPO}:${TAG}`,
    `oci:${into}:${TAG}`,
  ]);
  await Deno.remove(into, { recursive: true }).catch(() => {});
  return ms;
}

/**
 * Throws unless `docker pull IMAGE`'s output says it downloaded and unpacked all `layers`
 * layers ("<id>: Pull complete" each) and pulled `digest`. Counting matters: a layer kept
 * from an earlier pull shows as "Already exists", and when dockerd still has the whole
 * image it prints no layer line at all, only the digest.
 */
export function checkDockerPull(
  image: string,
  stdout: string,
  digest: string,
  layers: number,
): void {
  const got = /^Digest: (sha256:[0-9a-f]{64})$/m.exec(stdout)?.[1];
  if (got !== digest) throw new Error(`docker pull ${image} pulled ${got}, not ${digest}`);
  const kept = stdout.match(/^\S+: Already exists$/gm)?.length ?? 0;
  const done = new Set(stdout.match(/^\S+(?=: Pull complete$)/gm) ?? []).size;
  if (done !== layers) {
    throw new Error(
      `docker pull ${image} downloaded ${done} of ${layers} layers` +
        (kept ? ` (${kept} kept from an earlier pull)` : "") + `:\n${stdout}`,
    );
  }
}

/** One line docker printed, `at` ms after the pull started. */
export interface TimedLine {
  at: number;
  line: string;
}

/**
 * The pull's fetch phase: ms from its start to the end of the last layer's download. A
 * layer's download has ended at its "Verifying Checksum" or "Download complete" line (the
 * blob was read whole; unpacking follows, one layer after another, and is dockerd's local
 * work, the same whatever served the blobs). dockerd sends a watcher only the latest
 * progress of a transfer (distribution/xfer), so a busy pull may skip both lines for a
 * layer: then its first "Extracting" or "Pull complete" line, which comes after its
 * download, bounds it. Throws unless each of `layers` distinct layers has one of these.
 */
export function fetchPhase(image: string, lines: TimedLine[], layers: number): number {
  const fetched = new Map<string, number>();
  const after = new Map<string, number>();
  for (const { at, line } of lines) {
    const m = /^(\S+): (Verifying Checksum|Download complete|Extracting|Pull complete)/.exec(line);
    if (!m) continue;
    if (m[2] === "Verifying Checksum" || m[2] === "Download complete") fetched.set(m[1], at);
    else if (!after.has(m[1])) after.set(m[1], at);
  }
  for (const [id, at] of after) if (!fetched.has(id)) fetched.set(id, at);
  if (fetched.size !== layers) {
    throw new Error(`docker pull ${image}: ${fetched.size} of ${layers} layers were downloaded`);
  }
  return Math.max(...fetched.values());
}

/** `docker …` with each line of its stdout timed from the start; throws on failure. */
async function timedDocker(args: string[]): Promise<{ ms: number; lines: TimedLine[] }> {
  const t0 = performance.now();
  const child = new Deno.Command("docker", {
    args,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const stderr = new Response(child.stderr).text();
  const lines: TimedLine[] = [];
  let rest = "";
  for await (const chunk of child.stdout.pipeThrough(new TextDecoderStream())) {
    const at = performance.now() - t0;
    const parts = (rest + chunk).split("\n");
    rest = parts.pop()!;
    for (const line of parts) lines.push({ at, line });
  }
  if (rest) lines.push({ at: performance.now() - t0, line: rest });
  const { code } = await child.status;
  const ms = performance.now() - t0;
  if (code !== 0) {
    throw new Error(`docker ${args.join(" ")} exited with status ${code}:\n${await stderr}`);
  }
  await stderr;
  return { ms, lines };
}

/**
 * `docker pull` of the image from `host` through dockerd `sock`, then `docker image rm`.
 * Returns the wall time and the fetch phase ({@link fetchPhase}). Throws if docker did not
 * download every layer or pulled another digest.
 */
async function dockerPull(
  sock: string,
  host: string,
  image: { rootDigest: string; layers: number },
): Promise<{ wall: number; fetch: number }> {
  const ref = `${host}/${REPO}:${TAG}`;
  const { ms, lines } = await timedDocker(["-H", sock, "pull", ref]);
  await runOk("docker", ["-H", sock, "image", "rm", "-f", ref]);
  checkDockerPull(ref, lines.map((l) => l.line).join("\n"), image.rootDigest, image.layers);
  const fetch = fetchPhase(ref, lines, image.layers);
  // No image left means no layer left (the layer store counts references): the next pull
  // downloads everything again.
  const left = (await runOk("docker", ["-H", sock, "image", "ls", "-a", "-q"])).stdout.trim();
  if (left) throw new Error(`dockerd still holds images after docker image rm: ${left}`);
  return { wall: ms, fetch };
}

/** The bench's private dockerd: its `-H` address, graph driver, and why not overlay2. */
interface PrivateDocker {
  sock: string;
  driver: string;
  fallback?: string;
  close(): Promise<void>;
}

/**
 * A private containerd and dockerd (tests/helpers/client_daemons.ts: overlay2 where it
 * starts, vfs with the reason otherwise), or an error saying why not (no docker, dockerd
 * failed). Stopped by PID, mounts under its dir unmounted, the dir removed.
 */
async function startDocker(workDir: string): Promise<PrivateDocker> {
  const which = await new Deno.Command("sh", {
    args: ["-c", "command -v docker && command -v dockerd && command -v containerd"],
    stdout: "null",
    stderr: "null",
  }).output();
  if (!which.success) {
    throw new Error(
      "docker pull not measured: docker/dockerd/containerd not installed " +
        "(scripts/install-system-deps installs docker.io)",
    );
  }
  const dir = await Deno.makeTempDir({ dir: workDir, prefix: "docker-" });
  const daemons: Daemon[] = [];
  const close = async () => {
    try {
      // dockerd runs on containerd: stopped first.
      for (const d of daemons.reverse()) await d.stop(d.name === "dockerd" ? 15_000 : 10_000);
    } finally {
      await unmountUnder(dir);
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  };
  try {
    const c = await startContainerd(`${dir}/containerd`);
    daemons.push(c.daemon);
    const d = await startDockerd(`${dir}/docker`, c.sock);
    daemons.push(d.daemon);
    return { sock: d.host, driver: d.driver, fallback: d.fallback, close };
  } catch (e) {
    const logs = daemons.map((d) => d.logs().slice(-1000)).join("\n");
    await close();
    throw new Error(
      `docker pull not measured: the private dockerd did not start: ${
        (e as Error)?.message ?? e
      }\n${logs}`,
    );
  }
}

/** Wall times (ms) per system; `redirect` is the floor's nginx 307 reference. */
export type Pulls = Record<"floor" | "redirect" | "sr" | "dist", number[]>;

/**
 * `rounds` rounds of one pull from each system, the first of a round rotated every round
 * so none is always first (right after the previous round's warm caches or busy spell):
 * a machine busy for a while then costs each about the same. Returns each one's wall times.
 */
export async function alternated(
  rounds: number,
  pulls: Record<keyof Pulls, () => Promise<number>>,
): Promise<Pulls> {
  const keys = Object.keys(pulls) as (keyof Pulls)[];
  const out: Pulls = { floor: [], redirect: [], sr: [], dist: [] };
  for (let r = 0; r < rounds; r++) {
    for (let k = 0; k < keys.length; k++) {
      const key = keys[(r + k) % keys.length];
      out[key].push(await pulls[key]());
    }
  }
  return out;
}

const PULL_TARGET = "≤ 1.05× the floor, < distribution";
const all = (xs: number[]) => xs.map((x) => (x / 1000).toFixed(2)).join(", ");

/** A whole-pull row: static-registry's median against the floor's and distribution's. */
export function pullRow(name: string, t: Pulls, how: string): Row {
  const [f, r, s, d] = [median(t.floor), median(t.redirect), median(t.sr), median(t.dist)];
  return {
    name,
    value: secs(s),
    baselines: [`nginx static floor ${secs(f)}`, `distribution ${secs(d)}`],
    ratios: [ratio(s, f), ratio(s, d)],
    target: PULL_TARGET,
    pass: s / f <= 1.05 && s < d,
    note: `${how}; static-registry ${all(t.sr)} s, floor ${all(t.floor)} s, ` +
      `distribution ${all(t.dist)} s; for reference (not judged), the floor's nginx ` +
      `answering each blob with return 307 to the same file: ${secs(r)}, ${ratio(r, f)} the ` +
      `floor (${all(t.redirect)} s): the redirect's own cost, which no registry that redirects ` +
      "can avoid",
  };
}

export async function pullRows(
  bin: string,
  workDir: string,
  opts: {
    rounds: number;
    /** Rounds of docker pulls (default `rounds`): each takes longer and varies more. */
    dockerRounds?: number;
    layers: number;
    layerSize: number;
  },
): Promise<Row[]> {
  const layout = `${workDir}/pull-image`;
  const store = `${workDir}/pull-store`;
  const image = await makeOciLayout(layout, {
    tag: TAG,
    layers: opts.layers,
    layerSize: opts.layerSize,
    seed: "bench-pull",
  });
  const mb = Object.values(image.sizes).reduce((a, b) => a + b, 0) / 1e6;
  await runOk(bin, ["publish", `oci:${layout}:${TAG}`, `${REPO}:${TAG}`, "--to", store]);
  const distDir = `${workDir}/pull-distribution`;
  // The floor's nginx is also both registries' origin: distribution redirects to
  // /docker/registry/v2/blobs/… of its storage directory.
  let floor: Awaited<ReturnType<typeof startFloor>> | undefined;
  let dist: Awaited<ReturnType<typeof startDistribution>> | undefined;
  let sr: Awaited<ReturnType<typeof startRegistry>> | undefined;
  try {
    floor = await startFloor(workDir, store, `${distDir}/storage`, {
      digest: image.rootDigest,
      mediaType: image.rootMediaType,
    });
    dist = await startDistribution(distDir, layout, TAG, REPO, floor.url);
    sr = await startRegistry(bin, workDir, {
      store,
      origins: [{ name: "nginx", url: `${floor.url}/base` }],
      health: { interval: "2s", timeout: "1s", rise: 1 },
    });
    await waitFor(sr.proc, `${sr.url}/readyz`, { timeoutMs: 10_000 });
    const host = (u: string) => u.slice("http://".length);
    const into = `${workDir}/pull-dest`;
    const [hf, hr, hs, hd] = [floor.url, floor.redirectUrl, sr.url, dist.url].map(host);
    const what = `${opts.layers} layers, ${mb.toFixed(0)} MB`;

    await skopeoPull(hs, into); // warm the page cache and the origin
    const rows = [
      pullRow(
        `whole pull, skopeo copy (${what})`,
        await alternated(opts.rounds, {
          floor: () => skopeoPull(hf, into),
          redirect: () => skopeoPull(hr, into),
          sr: () => skopeoPull(hs, into),
          dist: () => skopeoPull(hd, into),
        }),
        `medians of ${opts.rounds} alternated pulls`,
      ),
    ];

    // docker pull from a private dockerd: the same three, alternated the same way.
    const dockerRounds = opts.dockerRounds ?? opts.rounds;
    const dockerName = `whole pull, docker pull (${what})`;
    let docker: PrivateDocker | undefined;
    try {
      docker = await startDocker(workDir);
      const sock = docker.sock;
      const want = { rootDigest: image.rootDigest, layers: image.manifests[0].layers.length };
      await dockerPull(sock, hs, want); // warm dockerd and the origin
      // The same pulls give both rows: alternated() takes the wall times, the fetch phases
      // are kept on the side in the same order.
      const fetch: Pulls = { floor: [], redirect: [], sr: [], dist: [] };
      const pull = (key: keyof Pulls, h: string) => async () => {
        const t = await dockerPull(sock, h, want);
        fetch[key].push(t.fetch);
        return t.wall;
      };
      const wall = await alternated(dockerRounds, {
        floor: pull("floor", hf),
        redirect: pull("redirect", hr),
        sr: pull("sr", hs),
        dist: pull("dist", hd),
      });
      const how = `medians of ${dockerRounds} alternated pulls, private dockerd (${docker.driver}` +
        (docker.fallback ? `: ${docker.fallback}` : "") +
        "), image removed after each, every layer checked downloaded";
      rows.push(pullRow(dockerName, wall, how));
      rows.push(pullRow(
        `${dockerName}, fetch phase`,
        fetch,
        `${how}; time to the last layer's "Download complete" (fetchPhase): what the ` +
          "registry serves, the rest of the wall time being dockerd unpacking layers one by one",
      ));
    } catch (e) {
      rows.push(errorRow(dockerName, PULL_TARGET, e));
      rows.push(errorRow(`${dockerName}, fetch phase`, PULL_TARGET, e));
    } finally {
      await docker?.close();
    }

    // publish docker:// from distribution against skopeo copy docker:// oci:, alternated.
    const pub = { sr: [] as number[], skopeo: [] as number[] };
    const src = `docker://${host(dist.url)}/${REPO}:${TAG}`;
    for (let i = 0; i < opts.rounds; i++) {
      const dir = `${workDir}/pub-${i}`;
      pub.skopeo.push(
        await timed("skopeo", [
          "copy",
          "--quiet",
          "--src-tls-verify=false",
          src,
          `oci:${dir}-oci:${TAG}`,
        ]),
      );
      pub.sr.push(await timed(bin, ["publish", src, `${REPO}:${TAG}`, "--to", `${dir}-store`]));
      await Deno.remove(`${dir}-oci`, { recursive: true }).catch(() => {});
      await Deno.remove(`${dir}-store`, { recursive: true }).catch(() => {});
    }
    const [ps, pk] = [median(pub.sr), median(pub.skopeo)];
    return [
      ...rows,
      {
        name: `publish docker:// from distribution (${what})`,
        value: secs(ps),
        baselines: [`skopeo copy docker:// oci: ${secs(pk)}`],
        ratios: [ratio(pk, ps)],
        target: "≥ 1.0× skopeo (its time / ours)",
        pass: pk / ps >= 1.0,
        note: `medians of ${opts.rounds} alternated copies; static-registry ${all(pub.sr)} s, ` +
          `skopeo ${all(pub.skopeo)} s`,
      },
    ];
  } finally {
    await sr?.stop();
    await dist?.stop();
    await floor?.stop();
  }
}
