/**
 * @module
 * Debian's `docker-registry` (CNCF distribution 2.8) as a known-good reference registry:
 * it validates the pull-client harness independently of our binary, and lets a test push a
 * generated image with `skopeo copy` and pull it back with every client.
 */
import { freePort } from "./ports.ts";
import { type Daemon, runOk, spawnDaemon } from "./process.ts";

/** A running reference registry. */
export interface Distribution {
  /** `127.0.0.1:PORT` */
  readonly addr: string;
  readonly url: string;
  readonly pid: number;
  logs(): string;
  /** Stops it by PID and removes its storage. */
  stop(): Promise<void>;
}

/** Whether `docker-registry` is installed (Debian package docker-registry). */
export function distributionAvailable(): boolean {
  try {
    return Deno.statSync("/usr/bin/docker-registry").isFile;
  } catch {
    return false;
  }
}

/**
 * Starts `docker-registry serve` on a free port with filesystem storage in a temp dir;
 * `auth` is distribution's `auth:` config section (htpasswd, token), as given.
 */
export async function startDistribution(
  opts: { auth?: Record<string, unknown> } = {},
): Promise<Distribution> {
  const dir = await Deno.makeTempDir({ prefix: "sr-distribution-" });
  const port = freePort();
  const addr = `127.0.0.1:${port}`;
  // distribution's config is YAML; JSON is valid YAML.
  const config = {
    version: 0.1,
    log: { level: "warn", accesslog: { disabled: false } },
    storage: { filesystem: { rootdirectory: `${dir}/data` }, delete: { enabled: false } },
    http: { addr },
    ...(opts.auth ? { auth: opts.auth } : {}),
  };
  await Deno.writeTextFile(`${dir}/config.yml`, JSON.stringify(config));
  let daemon: Daemon;
  try {
    daemon = await spawnDaemon({
      name: `docker-registry (${addr})`,
      cmd: "docker-registry",
      args: ["serve", `${dir}/config.yml`],
      ready: async () => {
        const res = await fetch(`http://${addr}/v2/`, { signal: AbortSignal.timeout(1000) });
        await res.body?.cancel();
        // With auth, /v2/ answers 401 to the anonymous probe: up all the same.
        return res.status === 200 || (opts.auth !== undefined && res.status === 401);
      },
    });
  } catch (e) {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
    throw e;
  }
  return {
    addr,
    url: `http://${addr}`,
    pid: daemon.pid,
    logs: daemon.logs,
    async stop() {
      await daemon.stop();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    },
  };
}

/**
 * Pushes an OCI layout's tag (every platform) into a registry, keeping every digest.
 * OCI-typed roots go through `skopeo copy --all --preserve-digests` (fail rather than
 * rewrite a manifest). Docker-typed roots are pushed over HTTP by `pushLayoutHttp`:
 * skopeo 1.9's `oci:` reader skips index.json entries whose mediaType is not OCI
 * ("no descriptor found for reference").
 */
export async function pushLayout(layoutDir: string, tag: string, addr: string, ref: string) {
  const root = await layoutRoot(layoutDir, tag);
  if (root.mediaType.startsWith("application/vnd.docker.")) {
    return await pushLayoutHttp(layoutDir, tag, addr, ref);
  }
  await runOk("skopeo", [
    "copy",
    "--all",
    "--preserve-digests",
    "--dest-tls-verify=false",
    `oci:${layoutDir}:${tag}`,
    `docker://${addr}/${ref}`,
  ]);
}

interface Desc {
  mediaType: string;
  digest: string;
  size: number;
}

async function layoutRoot(dir: string, tag: string): Promise<Desc> {
  const index = JSON.parse(await Deno.readTextFile(`${dir}/index.json`));
  const root = index.manifests?.find((m: { annotations?: Record<string, string> }) =>
    m.annotations?.["org.opencontainers.image.ref.name"] === tag
  );
  if (!root) throw new Error(`${dir}/index.json has no tag "${tag}"`);
  return root;
}

/**
 * Pushes with the distribution-spec push API (POST then PUT blob uploads, PUT manifests):
 * blobs first, then child manifests by digest, then the root by tag — the exact bytes.
 */
export async function pushLayoutHttp(
  dir: string,
  tag: string,
  addr: string,
  ref: string,
  /** An `Authorization` value for a registry with auth (Basic, or a push-scoped Bearer). */
  authorization?: string,
) {
  const [name, pushTag] = ref.split(":");
  const base = `http://${addr}/v2/${name}`;
  const read = (d: string) => Deno.readFile(`${dir}/blobs/sha256/${d.slice(7)}`);
  const auth: Record<string, string> = authorization ? { authorization } : {};
  const fetch = (url: string | URL, init: RequestInit = {}) =>
    globalThis.fetch(url, { ...init, headers: { ...auth, ...init.headers as object } });
  const putBlob = async (digest: string) => {
    const start = await fetch(`${base}/blobs/uploads/`, { method: "POST" });
    await start.body?.cancel();
    if (start.status !== 202) throw new Error(`POST upload for ${digest}: ${start.status}`);
    const loc = new URL(start.headers.get("location")!, `http://${addr}`);
    loc.searchParams.set("digest", digest);
    const res = await fetch(loc, {
      method: "PUT",
      headers: { "content-type": "application/octet-stream" },
      body: await read(digest),
    });
    if (res.status !== 201) {
      throw new Error(`PUT blob ${digest}: ${res.status} ${await res.text()}`);
    }
    await res.body?.cancel();
  };
  const putManifest = async (d: Desc, reference: string) => {
    const res = await fetch(`${base}/manifests/${reference}`, {
      method: "PUT",
      headers: { "content-type": d.mediaType },
      body: await read(d.digest),
    });
    if (res.status !== 201) {
      throw new Error(`PUT manifest ${d.digest}: ${res.status} ${await res.text()}`);
    }
    await res.body?.cancel();
  };
  const pushImage = async (m: Desc, reference: string) => {
    const doc = JSON.parse(new TextDecoder().decode(await read(m.digest)));
    for (const b of [doc.config, ...doc.layers]) await putBlob(b.digest);
    await putManifest(m, reference);
  };
  const root = await layoutRoot(dir, tag);
  const doc = JSON.parse(new TextDecoder().decode(await read(root.digest)));
  if (Array.isArray(doc.manifests)) {
    for (const child of doc.manifests) await pushImage(child, child.digest);
    await putManifest(root, pushTag);
  } else {
    await pushImage(root, pushTag);
  }
}
