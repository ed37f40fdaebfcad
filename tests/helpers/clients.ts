/**
 * @module
 * The real pull clients — skopeo, podman, containerd's `ctr` and docker — each reporting
 * what it pulled so a test can compare digests with the source image. (Project copy of
 * the verified recipes pull-with-all.sh and tls-auth/pull-tls.sh.) One {@link Access}
 * option says how a pull reaches the registry:
 *
 * - plain HTTP (the default): skopeo/podman `--tls-verify=false`, ctr `--plain-http`,
 *   docker through its 127.0.0.0/8 insecure-registry rule;
 * - `tls: { ca }`: HTTPS trusting that CA and nothing else (skopeo `--src-cert-dir`,
 *   podman `--cert-dir`, ctr hosts.toml `ca =`); `tls: {}` trusts no test CA, so the pull
 *   must be refused. docker takes its CA from /etc/docker/certs.d only (`dockerCa` in
 *   tls_trust.ts), so `tls` changes nothing for it;
 * - `creds`: `skopeo --src-creds`, `podman login`, `ctr --user`, `docker login`.
 *
 * Every pull gets fresh storage so blobs are really fetched — skopeo a new dir, podman a
 * new graph root, ctr a new containerd namespace (content sharing between namespaces is
 * off), docker removes the image after inspecting it — and a private HOME, auth file and
 * docker config, so nothing from /root (a CA, a login) is picked up. containerd and dockerd
 * are private to one `PullClients` (client_daemons.ts), started on first use and stopped
 * by PID in `close()`. A command that fails throws {@link ClientFailed};
 * {@link PullClients.attempt} turns that into an outcome, for tests where refusals are
 * half of the matrix.
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
import { startContainerd, startDockerd, unmountUnder } from "./client_daemons.ts";
import { type Daemon, run, tail } from "./process.ts";
import { readDirCopy, readOciCopy, sha256, type SkopeoPulled } from "./skopeo_copy.ts";
import { ctrHostsDir } from "./tls_trust.ts";

export type { SkopeoPulled } from "./skopeo_copy.ts";

/** Credentials for one pull; `undefined` pulls anonymously. */
export type Creds = { user: string; password: string } | undefined;

/** How a pull reaches the registry (see the module doc). */
export interface Access {
  /** HTTPS; `ca` (a tests/helpers/pki.ts CA) is the only one trusted, none when absent. */
  tls?: { ca?: { certDir: string; caPem: string } };
  creds?: Creds;
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
/** `docker image inspect` after `docker pull`; `digest` from the repo digest for ADDR/REPO. */
export interface DockerPulled {
  id: string;
  repoDigests: string[];
  digest?: string;
}

/** The clients by name, for tables of pulls. */
export const CLIENTS = ["skopeo", "podman", "ctr", "docker"] as const;
export type ClientName = typeof CLIENTS[number];

/** What {@link PullClients.attempt} saw: the digest pulled, or the failing step's output. */
export interface PullOutcome {
  ok: boolean;
  digest?: string;
  out: string;
}

/** A client command that exited non-zero; `output` is its stderr and stdout alone. */
export class ClientFailed extends Error {
  override name = "ClientFailed";
  constructor(cmd: string, args: string[], readonly code: number, readonly output: string) {
    super(`${cmd} ${args.join(" ")} exited with status ${code}:\n${tail(output)}`);
  }
}

/** Runs the pull clients; holds the private containerd/dockerd and every client's storage. */
export class PullClients {
  #containerd?: Promise<{ daemon: Daemon; sock: string }>;
  #dockerd?: Promise<{ daemon: Daemon; host: string }>;
  #daemons: Daemon[] = [];
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

  /** Runs one command bounded by 120 s and what is left of the budget; throws ClientFailed. */
  async #runOk(cmd: string, args: string[], env?: Record<string, string>) {
    const left = this.deadline - Date.now();
    if (left <= 0) throw new Error(`PullClients budget spent before: ${cmd} ${args.join(" ")}`);
    const r = await run(cmd, args, { env, timeoutMs: Math.min(120_000, left) });
    if (r.code !== 0) throw new ClientFailed(cmd, args, r.code, `${r.stderr}\n${r.stdout}`.trim());
    return r;
  }

  /**
   * A fresh dir with a private HOME, auth file and docker config in it. Short names:
   * podman refuses a runroot path over 50 characters.
   */
  #fresh(name: string): { dir: string; env: Record<string, string> } {
    const dir = `${this.workDir}/${name}${++this.#seq}`;
    Deno.mkdirSync(`${dir}/home`, { recursive: true });
    return {
      dir,
      env: {
        HOME: `${dir}/home`,
        XDG_CONFIG_HOME: `${dir}/home/.config`,
        XDG_RUNTIME_DIR: `${dir}/home`,
        REGISTRY_AUTH_FILE: `${dir}/auth.json`,
        DOCKER_CONFIG: `${dir}/home/.docker`,
      },
    };
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
    opts: Access & { all?: boolean; dest?: "dir" | "oci" } = {},
  ): Promise<SkopeoPulled> {
    const dest = opts.dest ?? "dir";
    const { dir, env } = this.#fresh("s");
    const args = ["copy", ...skopeoTrust(opts, "--src-"), "--preserve-digests"];
    if (opts.creds) args.push("--src-creds", `${opts.creds.user}:${opts.creds.password}`);
    if (opts.all) args.push("--all");
    const target = dest === "oci" ? `oci:${dir}/out:pulled` : `dir:${dir}/out`;
    await this.#runOk("skopeo", [...args, `docker://${addr}/${ref}`, target], env);
    return dest === "oci" ? await readOciCopy(`${dir}/out`) : await readDirCopy(`${dir}/out`);
  }

  /** `skopeo inspect --raw docker://ADDR/REF` (plain HTTP): the served bytes and their digest. */
  async skopeoInspectRaw(addr: string, ref: string): Promise<RawManifest> {
    const { env } = this.#fresh("i");
    const r = await this.#runOk("skopeo", [
      "inspect",
      "--raw",
      "--tls-verify=false",
      `docker://${addr}/${ref}`,
    ], env);
    let mediaType: string | undefined;
    try {
      mediaType = JSON.parse(r.stdout).mediaType;
    } catch { /* not JSON: the digest comparison will fail loudly */ }
    return { raw: r.stdout, digest: sha256(r.stdout), mediaType };
  }

  /** `podman login` (with `creds`), `podman pull` into a fresh vfs graph root, `podman image inspect`. */
  async podman(addr: string, ref: string, opts: Access = {}): Promise<PodmanPulled> {
    const { dir: w, env: home } = this.#fresh("p");
    await Deno.mkdir(`${w}/tmp`);
    // registries.conf/storage.conf kept under the work dir; nothing in /etc is changed.
    const insecure = opts.tls ? "" : `[[registry]]\nlocation = "${addr}"\ninsecure = true\n`;
    await Deno.writeTextFile(
      `${w}/registries.conf`,
      `unqualified-search-registries = []\n${insecure}`,
    );
    await Deno.writeTextFile(
      `${w}/storage.conf`,
      `[storage]\ndriver = "vfs"\nrunroot = "${w}/run"\ngraphroot = "${w}/root"\n`,
    );
    // podman refuses a REGISTRY_AUTH_FILE that does not exist (reference quirk 13).
    await Deno.writeTextFile(`${w}/auth.json`, "{}\n");
    const env = {
      ...home,
      CONTAINERS_REGISTRIES_CONF: `${w}/registries.conf`,
      CONTAINERS_STORAGE_CONF: `${w}/storage.conf`,
    };
    const base = [
      ...["--root", `${w}/root`, "--runroot", `${w}/run`, "--tmpdir", `${w}/tmp`],
      ...["--storage-driver", "vfs", "--cgroup-manager=cgroupfs", "--events-backend=file"],
    ];
    const trust = skopeoTrust(opts, "--");
    if (opts.creds) {
      const { user, password } = opts.creds;
      await this.#runOk(
        "podman",
        [...base, "login", ...trust, "-u", user, "-p", password, addr],
        env,
      );
    }
    const image = `${addr}/${ref}`;
    await this.#runOk("podman", [...base, "pull", "-q", ...trust, image], env);
    const r = await this.#runOk("podman", [...base, "image", "inspect", image], env);
    const [info] = JSON.parse(r.stdout);
    return { id: info.Id, digest: info.Digest, repoDigests: info.RepoDigests ?? [] };
  }

  /**
   * `ctr images pull` in a new namespace — `--plain-http`, or with `tls` a `--hosts-dir`
   * (tls_trust.ts `ctrHostsDir`) — then the image's descriptor from `ctr images ls`.
   */
  async ctr(
    addr: string,
    ref: string,
    opts: Access & { allPlatforms?: boolean } = {},
  ): Promise<CtrPulled> {
    const sock = await this.containerdSocket();
    const { dir, env } = this.#fresh("c");
    const ns = `pull${this.#seq}`;
    const image = `${addr}/${ref}`;
    const args = ["-a", sock, "-n", ns, "images", "pull"];
    if (opts.tls) {
      args.push("--hosts-dir", await ctrHostsDir(`${dir}/hosts`, addr, opts.tls.ca?.caPem));
    } else args.push("--plain-http");
    if (opts.creds) args.push("--user", `${opts.creds.user}:${opts.creds.password}`);
    if (opts.allPlatforms) args.push("--all-platforms");
    await this.#runOk("ctr", [...args, image], env);
    const ls = await this.#runOk("ctr", ["-a", sock, "-n", ns, "images", "ls"], env);
    // Columns: REF TYPE DIGEST SIZE PLATFORMS LABELS (SIZE has a space: "4.2 KiB").
    const row = ls.stdout.split("\n").map((l) => l.trim().split(/\s+/)).find((c) => c[0] === image);
    if (!row) throw new Error(`ctr images ls has no row for ${image}:\n${ls.stdout}`);
    return { digest: row[2], mediaType: row[1] };
  }

  /**
   * `docker login` (with `creds`, into a fresh DOCKER_CONFIG so no later pull holds it),
   * `docker pull` through the private dockerd, `docker image inspect`, then removes the
   * image so the next pull of the same layers really fetches them again.
   */
  async docker(addr: string, ref: string, opts: Access = {}): Promise<DockerPulled> {
    const host = await this.dockerHost();
    const { env } = this.#fresh("d");
    const docker = (...a: string[]) => this.#runOk("docker", ["-H", host, ...a], env);
    if (opts.creds) {
      // --password-stdin needs a stdin; `run` gives none, so -p (the warning is harmless).
      await docker("login", "-u", opts.creds.user, "-p", opts.creds.password, addr);
    }
    const image = `${addr}/${ref}`;
    await docker("pull", "-q", image);
    const info = JSON.parse(
      (await docker("image", "inspect", "--format", "{{json .}}", image)).stdout,
    );
    await docker("image", "rm", "-f", info.Id);
    const repoDigests: string[] = info.RepoDigests ?? [];
    const repo = `${addr}/${ref.replace(/[:@].*$/, "")}@`;
    const digest = repoDigests.find((d) => d.startsWith(repo))?.slice(repo.length);
    return { id: info.Id, repoDigests, digest };
  }

  /**
   * `docker pull` then `docker save -o FILE` (the `docker-archive:` format of this docker),
   * then removes the image so a later pull fetches every layer again.
   */
  async dockerSave(addr: string, ref: string, file: string): Promise<void> {
    const host = await this.dockerHost();
    const { env } = this.#fresh("d");
    const image = `${addr}/${ref}`;
    await this.#runOk("docker", ["-H", host, "pull", "-q", image], env);
    await this.#runOk("docker", ["-H", host, "save", "-o", file, image], env);
    await this.#runOk("docker", ["-H", host, "image", "rm", "-f", image], env);
  }

  /**
   * Pulls with `client`, never throwing for a refusal: `ok` and the digest the client
   * reports, or the failing command's output (a setup error still throws).
   */
  async attempt(
    client: ClientName,
    addr: string,
    ref: string,
    opts: Access = {},
  ): Promise<PullOutcome> {
    try {
      const pull = client === "skopeo"
        ? this.skopeoCopy(addr, ref, opts)
        : this[client](addr, ref, opts);
      return { ok: true, digest: (await pull).digest, out: "" };
    } catch (e) {
      if (e instanceof ClientFailed) return { ok: false, out: e.output };
      throw e;
    }
  }

  /** The private containerd's socket, started on first use (for tests driving ctr themselves). */
  async containerdSocket(): Promise<string> {
    this.#containerd ??= startContainerd(`${this.workDir}/ctd`).then((c) => {
      this.#daemons.push(c.daemon);
      return c;
    });
    return (await this.#containerd).sock;
  }

  /** The private dockerd's `-H` address, started on first use. */
  async dockerHost(): Promise<string> {
    this.#dockerd ??= this.containerdSocket()
      .then((sock) => startDockerd(`${this.workDir}/docker`, sock))
      .then((d) => {
        this.#daemons.push(d.daemon);
        return d;
      });
    return (await this.#dockerd).host;
  }

  /** Logs of the private daemons (for failure messages). */
  daemonLogs(): string {
    return this.#daemons
      .map((d) => `--- ${d.name} (pid ${d.pid}) ---\n${d.logs().slice(-4000)}`)
      .join("\n");
  }

  /** Stops dockerd then containerd by PID, unmounts leftovers under the temp dir, removes it. */
  async close(): Promise<void> {
    try {
      // Started containerd first, so stopped last (dockerd runs on it).
      for (const d of [...this.#daemons].reverse()) {
        await d.stop(d.name === "dockerd" ? 15_000 : 10_000);
      }
    } finally {
      this.#daemons = [];
      this.#dockerd = this.#containerd = undefined;
      await unmountUnder(this.workDir);
      await Deno.remove(this.workDir, { recursive: true }).catch(() => {});
    }
  }
}

/**
 * skopeo's and podman's trust flags (`prefix` "--src-" for `skopeo copy`, "--" for podman):
 * plain HTTP skips TLS, `tls` verifies against the CA's cert dir or, without one, the
 * system store alone — never `--tls-verify=false` over HTTPS.
 */
function skopeoTrust(opts: Access, prefix: string): string[] {
  if (!opts.tls) return [`${prefix}tls-verify=false`];
  return opts.tls.ca ? [`${prefix}cert-dir`, opts.tls.ca.certDir] : [];
}
