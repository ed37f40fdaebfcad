/**
 * @module
 * The real pull clients — skopeo, podman, containerd's `ctr` and docker — against a
 * plain-HTTP registry on 127.0.0.1, each reporting what it pulled so a test can compare
 * digests with the source image. (Project copy of the verified recipe pull-with-all.sh.)
 *
 * Every pull gets fresh storage so blobs are really fetched: skopeo a new OCI layout,
 * podman a new graph root, ctr a new containerd namespace (content sharing between
 * namespaces is off), docker removes the image after inspecting it. containerd and dockerd
 * are private to one `PullClients` (state, sockets and config under its temp dir, unix
 * sockets only), started on first use, shared by its pulls, and stopped by PID in `close()`.
 *
 * @example
 * ```ts
 * const clients = await PullClients.create();
 * try {
 *   const got = await clients.ctr(reg.addr, "demo:v1");
 *   assert.equal(got.digest, image.rootDigest);
 * } finally {
 *   await clients.close();
 * }
 * ```
 */
import { createHash } from "node:crypto";
import { type Daemon, run, runOk as runOkUnbounded, spawnDaemon } from "./process.ts";

/** What `skopeo copy` wrote: the digest of the root manifest it copied, and what else. */
export interface SkopeoPulled {
  digest: string;
  mediaType: string;
  /** Where skopeo wrote it (inside the PullClients temp dir). */
  dir: string;
  /** Digests of every object copied (blobs, and with `dir` the manifests), each re-hashed for `dir`. */
  blobs: string[];
}
/** `skopeo inspect --raw`: the manifest bytes exactly as served. */
export interface RawManifest {
  raw: string;
  /** sha256 of `raw`. */
  digest: string;
  mediaType?: string;
}
/** `podman image inspect` after `podman pull`. */
export interface PodmanPulled {
  id: string;
  digest: string;
  repoDigests: string[];
}
/** `ctr images ls` after `ctr images pull`: the image's target descriptor. */
export interface CtrPulled {
  digest: string;
  mediaType: string;
}
/** `docker image inspect` after `docker pull`. */
export interface DockerPulled {
  id: string;
  repoDigests: string[];
}

/** Runs the pull clients; holds the private containerd/dockerd and every client's storage. */
export class PullClients {
  #containerd?: Daemon;
  #dockerd?: Daemon;
  #seq = 0;
  private constructor(readonly workDir: string, readonly deadline: number) {}

  /**
   * Makes the temp dir; daemons start lazily on the first ctr/docker pull. `budgetMs`
   * (default 5 min) bounds all client commands together: each one is killed when it would
   * run past it, so a hanging pull fails the test instead of stalling the suite.
   */
  static async create(opts: { budgetMs?: number } = {}): Promise<PullClients> {
    const dir = await Deno.makeTempDir({ prefix: "sr-clients-" });
    return new PullClients(dir, Date.now() + (opts.budgetMs ?? 300_000));
  }

  /** runOk bounded by 120 s and by what is left of the budget. */
  #runOk(cmd: string, args: string[], opts: { env?: Record<string, string> } = {}) {
    const left = this.deadline - Date.now();
    if (left <= 0) throw new Error(`PullClients budget spent before: ${cmd} ${args.join(" ")}`);
    return runOkUnbounded(cmd, args, { ...opts, timeoutMs: Math.min(120_000, left) });
  }

  #fresh(name: string): string {
    return `${this.workDir}/${name}-${++this.#seq}`;
  }

  /**
   * `skopeo copy docker://ADDR/REF` into a fresh local copy; `all` copies every platform of
   * an index. `--preserve-digests` makes skopeo fail instead of rewriting a manifest, so
   * what it wrote is what the registry served. `dest: "dir"` (default) keeps any manifest
   * type byte for byte; `dest: "oci"` writes an OCI layout, which skopeo 1.9 can only do for
   * OCI media types (Docker ones "must be converted").
   */
  async skopeoCopy(
    addr: string,
    ref: string,
    opts: { all?: boolean; dest?: "dir" | "oci" } = {},
  ): Promise<SkopeoPulled> {
    const dest = opts.dest ?? "dir";
    const dir = this.#fresh(`skopeo-${dest}`);
    const args = ["copy", "--src-tls-verify=false", "--preserve-digests"];
    if (opts.all) args.push("--all");
    const target = dest === "oci" ? `oci:${dir}:pulled` : `dir:${dir}`;
    await this.#runOk("skopeo", [...args, `docker://${addr}/${ref}`, target]);
    return dest === "oci" ? await readOciCopy(dir) : await readDirCopy(dir);
  }

  /** `skopeo inspect --raw docker://ADDR/REF`: the served manifest bytes and their digest. */
  async skopeoInspectRaw(addr: string, ref: string): Promise<RawManifest> {
    const r = await this.#runOk("skopeo", [
      "inspect",
      "--raw",
      "--tls-verify=false",
      `docker://${addr}/${ref}`,
    ]);
    const digest = sha256(r.stdout);
    let mediaType: string | undefined;
    try {
      mediaType = JSON.parse(r.stdout).mediaType;
    } catch { /* not JSON: the digest comparison will fail loudly */ }
    return { raw: r.stdout, digest, mediaType };
  }

  /** `podman pull` into a fresh vfs graph root, then `podman image inspect`. */
  async podman(addr: string, ref: string): Promise<PodmanPulled> {
    const w = this.#fresh("podman");
    await Deno.mkdir(`${w}/tmp`, { recursive: true });
    // registries.conf/storage.conf kept under the work dir; nothing in /etc is changed.
    await Deno.writeTextFile(
      `${w}/registries.conf`,
      `unqualified-search-registries = []\n[[registry]]\nlocation = "${addr}"\ninsecure = true\n`,
    );
    await Deno.writeTextFile(
      `${w}/storage.conf`,
      `[storage]\ndriver = "vfs"\nrunroot = "${w}/run"\ngraphroot = "${w}/root"\n`,
    );
    const env = {
      CONTAINERS_REGISTRIES_CONF: `${w}/registries.conf`,
      CONTAINERS_STORAGE_CONF: `${w}/storage.conf`,
    };
    const base = [
      "--root",
      `${w}/root`,
      "--runroot",
      `${w}/run`,
      "--tmpdir",
      `${w}/tmp`,
      "--storage-driver",
      "vfs",
      "--cgroup-manager=cgroupfs",
      "--events-backend=file",
    ];
    const image = `${addr}/${ref}`;
    await this.#runOk("podman", [...base, "pull", "--tls-verify=false", image], { env });
    const r = await this.#runOk("podman", [...base, "image", "inspect", image], { env });
    const [info] = JSON.parse(r.stdout);
    return { id: info.Id, digest: info.Digest, repoDigests: info.RepoDigests ?? [] };
  }

  async #startContainerd(): Promise<string> {
    const d = `${this.workDir}/ctd`;
    const sock = `${d}/c.sock`;
    if (this.#containerd) return sock;
    await Deno.mkdir(d, { recursive: true });
    // "isolated": a namespace sees only blobs it fetched itself, so every pull fetches.
    await Deno.writeTextFile(
      `${d}/config.toml`,
      [
        "version = 2",
        `root = "${d}/root"`,
        `state = "${d}/state"`,
        `disabled_plugins = ["io.containerd.grpc.v1.cri"]`,
        "[grpc]",
        `  address = "${sock}"`,
        "[ttrpc]",
        `  address = "${sock}.ttrpc"`,
        `[plugins."io.containerd.metadata.v1.bolt"]`,
        `  content_sharing_policy = "isolated"`,
        "",
      ].join("\n"),
    );
    this.#containerd = await spawnDaemon({
      name: "containerd",
      cmd: "containerd",
      args: ["--config", `${d}/config.toml`],
      ready: async () =>
        (await run("ctr", ["-a", sock, "version"], { timeoutMs: 5000 })).code === 0,
    });
    return sock;
  }

  /** `ctr images pull --plain-http` in a new namespace, then the image's digest from `ctr images ls`. */
  async ctr(addr: string, ref: string, opts: { allPlatforms?: boolean } = {}): Promise<CtrPulled> {
    const sock = await this.#startContainerd();
    const ns = `pull${++this.#seq}`;
    const image = `${addr}/${ref}`;
    const args = ["-a", sock, "-n", ns, "images", "pull", "--plain-http"];
    if (opts.allPlatforms) args.push("--all-platforms");
    await this.#runOk("ctr", [...args, image]);
    const ls = await this.#runOk("ctr", ["-a", sock, "-n", ns, "images", "ls"]);
    // Columns: REF TYPE DIGEST SIZE PLATFORMS LABELS (SIZE has a space: "4.2 KiB").
    const row = ls.stdout.split("\n").map((l) => l.trim().split(/\s+/)).find((c) => c[0] === image);
    if (!row) throw new Error(`ctr images ls has no row for ${image}:\n${ls.stdout}`);
    return { digest: row[2], mediaType: row[1] };
  }

  async #startDockerd(): Promise<string> {
    const d = `${this.workDir}/docker`;
    const sock = `${d}/d.sock`;
    if (this.#dockerd) return sock;
    const ctd = await this.#startContainerd();
    await Deno.mkdir(`${d}/exec`, { recursive: true });
    // An empty daemon.json so /etc/docker/daemon.json never applies.
    await Deno.writeTextFile(`${d}/daemon.json`, "{}\n");
    this.#dockerd = await spawnDaemon({
      name: "dockerd",
      cmd: "dockerd",
      args: [
        "--config-file",
        `${d}/daemon.json`,
        "--data-root",
        `${d}/data`,
        "--exec-root",
        `${d}/exec`,
        "--pidfile",
        `${d}/dockerd.pid`,
        "--storage-driver",
        "vfs",
        "--iptables=false",
        "--ip6tables=false",
        "--bridge=none",
        "--insecure-registry",
        "127.0.0.1/8",
        "--containerd",
        ctd,
        "-H",
        `unix://${sock}`,
      ],
      timeoutMs: 30_000,
      ready: async () =>
        (await run("docker", ["-H", `unix://${sock}`, "version"], { timeoutMs: 5000 })).code === 0,
    });
    return sock;
  }

  /** `docker pull` through the private dockerd, `docker image inspect`, then removes the image. */
  async docker(addr: string, ref: string): Promise<DockerPulled> {
    const host = `unix://${await this.#startDockerd()}`;
    const image = `${addr}/${ref}`;
    await this.#runOk("docker", ["-H", host, "pull", "-q", image]);
    const r = await this.#runOk("docker", [
      "-H",
      host,
      "image",
      "inspect",
      "--format",
      "{{json .}}",
      image,
    ]);
    const info = JSON.parse(r.stdout);
    // Remove it so the next pull of the same layers really fetches them again.
    await this.#runOk("docker", ["-H", host, "image", "rm", "-f", info.Id]);
    return { id: info.Id, repoDigests: info.RepoDigests ?? [] };
  }

  /**
   * `docker pull` then `docker save -o FILE` (the `docker-archive:` format of this docker),
   * then removes the image so a later pull fetches every layer again.
   */
  async dockerSave(addr: string, ref: string, file: string): Promise<void> {
    const host = `unix://${await this.#startDockerd()}`;
    const image = `${addr}/${ref}`;
    await this.#runOk("docker", ["-H", host, "pull", "-q", image]);
    await this.#runOk("docker", ["-H", host, "save", "-o", file, image]);
    await this.#runOk("docker", ["-H", host, "image", "rm", "-f", image]);
  }

  /** The private containerd's socket, started on first use (for tests driving ctr themselves). */
  containerdSocket(): Promise<string> {
    return this.#startContainerd();
  }

  /** The private dockerd's `-H` address, started on first use. */
  async dockerHost(): Promise<string> {
    return `unix://${await this.#startDockerd()}`;
  }

  /** Logs of the private daemons (for failure messages). */
  daemonLogs(): string {
    return [this.#containerd, this.#dockerd]
      .filter((d): d is Daemon => !!d)
      .map((d) => `--- ${d.name} (pid ${d.pid}) ---\n${d.logs().slice(-4000)}`)
      .join("\n");
  }

  /** Stops dockerd then containerd by PID, unmounts leftovers under the temp dir, removes it. */
  async close(): Promise<void> {
    try {
      await this.#dockerd?.stop(15_000);
      await this.#containerd?.stop(10_000);
    } finally {
      this.#dockerd = this.#containerd = undefined;
      await unmountUnder(this.workDir);
      await Deno.remove(this.workDir, { recursive: true }).catch(() => {});
    }
  }
}

const sha256 = (b: Uint8Array | string) => `sha256:${createHash("sha256").update(b).digest("hex")}`;

/** Reads what `skopeo copy ... oci:DIR:pulled` wrote: the ref's descriptor and blobs/. */
async function readOciCopy(dir: string): Promise<SkopeoPulled> {
  const index = JSON.parse(await Deno.readTextFile(`${dir}/index.json`));
  // deno-lint-ignore no-explicit-any
  const entry = index.manifests?.find((m: any) =>
    m.annotations?.["org.opencontainers.image.ref.name"] === "pulled"
  );
  if (!entry) throw new Error(`skopeo wrote no "pulled" entry in ${dir}/index.json`);
  const blobs: string[] = [];
  for await (const e of Deno.readDir(`${dir}/blobs/sha256`)) blobs.push(`sha256:${e.name}`);
  return { digest: entry.digest, mediaType: entry.mediaType, dir, blobs: blobs.sort() };
}

/**
 * Reads what `skopeo copy ... dir:DIR` wrote: `manifest.json` (exact bytes of the root),
 * `<hex>.manifest.json` per instance with --all, `<hex>` per blob. Every file is re-hashed.
 */
async function readDirCopy(dir: string): Promise<SkopeoPulled> {
  const root = await Deno.readFile(`${dir}/manifest.json`);
  const blobs: string[] = [];
  for await (const e of Deno.readDir(dir)) {
    const m = /^([0-9a-f]{64})(\.manifest\.json)?$/.exec(e.name);
    if (!m) continue;
    const digest = sha256(await Deno.readFile(`${dir}/${e.name}`));
    if (digest !== `sha256:${m[1]}`) {
      throw new Error(`skopeo copy ${dir}/${e.name} hashes to ${digest}`);
    }
    blobs.push(digest);
  }
  const mediaType = JSON.parse(new TextDecoder().decode(root)).mediaType ?? "";
  blobs.push(sha256(root));
  return { digest: sha256(root), mediaType, dir, blobs: [...new Set(blobs)].sort() };
}

/** Lazily unmounts every mount point under `dir`, deepest first (daemons may leave some). */
async function unmountUnder(dir: string): Promise<void> {
  const mounts = (await Deno.readTextFile("/proc/mounts")).split("\n")
    .map((l) => l.split(" ")[1]?.replace(/\\040/g, " "))
    .filter((m): m is string => !!m && (m === dir || m.startsWith(`${dir}/`)))
    .sort()
    .reverse();
  for (const m of mounts) await run("umount", ["-l", m], { timeoutMs: 10_000 });
}
