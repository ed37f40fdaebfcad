/**
 * @module
 * The real pull clients over HTTPS, each trusting ONE test CA and nothing else (recipes:
 * ../shared/reference/tls-auth/pull-tls.sh): skopeo `--src-cert-dir`, podman
 * `--cert-dir`, ctr with a hosts.toml `[host."https://…"]` table and `ca =` (containerd
 * sends plain HTTP to loopback literals without one), docker through
 * `/etc/docker/certs.d/HOST:PORT/ca.crt` (see {@link dockerCa}). Without a CA each of
 * them must refuse: none has a fallback to plain HTTP or to skipping verification here
 * (no `insecure` anywhere; HOME points at an empty private folder).
 *
 * The host must be a name, not localhost or a 127/8 address: dockerd treats every
 * registry resolving into 127.0.0.0/8 as insecure and never verifies it, so the tests add
 * a name resolving only to ::1 ({@link hostsLine}). docker itself goes through
 * tests/helpers/clients.ts `PullClients.docker`; ctr gets a private containerd here,
 * stopped by PID in `close()`.
 */
import { createHash } from "node:crypto";
import { type Daemon, run, runOk, spawnDaemon } from "./process.ts";

const sha256 = (b: Uint8Array) => `sha256:${createHash("sha256").update(b).digest("hex")}`;

/** skopeo, podman and ctr over HTTPS, with or without a CA. */
export class TlsClients {
  #containerd?: Daemon;
  #seq = 0;
  private constructor(readonly workDir: string) {}

  static async create(): Promise<TlsClients> {
    const dir = await Deno.makeTempDir({ prefix: "sr-tls-clients-" });
    await Deno.mkdir(`${dir}/home`);
    return new TlsClients(dir);
  }

  #fresh(name: string): string {
    return `${this.workDir}/${name}-${++this.#seq}`;
  }

  /** No CA from $HOME/.config/containers or the user's auth file. */
  #env(): Record<string, string> {
    return {
      HOME: `${this.workDir}/home`,
      XDG_CONFIG_HOME: `${this.workDir}/home/.config`,
      XDG_RUNTIME_DIR: `${this.workDir}/home`,
    };
  }

  /** `skopeo copy docker://ADDR/REF dir:…`; the sha256 of the manifest it wrote. */
  async skopeo(addr: string, ref: string, certDir?: string): Promise<string> {
    const dir = this.#fresh("skopeo");
    await runOk("skopeo", [
      "copy",
      "--preserve-digests",
      ...(certDir ? ["--src-cert-dir", certDir] : []),
      `docker://${addr}/${ref}`,
      `dir:${dir}`,
    ], { env: this.#env(), timeoutMs: 120_000 });
    return sha256(await Deno.readFile(`${dir}/manifest.json`));
  }

  /** `podman pull` into a fresh graph root; the image's manifest digest. */
  async podman(addr: string, ref: string, certDir?: string): Promise<string> {
    const w = this.#fresh("podman");
    await Deno.mkdir(`${w}/tmp`, { recursive: true });
    await Deno.writeTextFile(`${w}/registries.conf`, "unqualified-search-registries = []\n");
    await Deno.writeTextFile(
      `${w}/storage.conf`,
      `[storage]\ndriver = "vfs"\nrunroot = "${w}/run"\ngraphroot = "${w}/root"\n`,
    );
    const env = {
      ...this.#env(),
      CONTAINERS_REGISTRIES_CONF: `${w}/registries.conf`,
      CONTAINERS_STORAGE_CONF: `${w}/storage.conf`,
    };
    const base = [
      ...["--root", `${w}/root`, "--runroot", `${w}/run`, "--tmpdir", `${w}/tmp`],
      ...["--storage-driver", "vfs", "--cgroup-manager=cgroupfs", "--events-backend=file"],
    ];
    const image = `${addr}/${ref}`;
    const trust = certDir ? ["--cert-dir", certDir] : [];
    await runOk("podman", [...base, "pull", "-q", ...trust, image], { env, timeoutMs: 120_000 });
    const r = await runOk("podman", [...base, "image", "inspect", image], { env });
    return JSON.parse(r.stdout)[0].Digest;
  }

  /**
   * `ctr images pull` with `--hosts-dir` holding `ADDR/hosts.toml`: a `[host."https://ADDR"]`
   * table (without one ctr ignores the file), with `ca = CA_PEM` when given. The digest of
   * the pulled image (`ctr images ls`).
   */
  async ctr(addr: string, ref: string, caPem?: string): Promise<string> {
    const sock = await this.#startContainerd();
    const hosts = await ctrHostsDir(this.#fresh("hosts"), addr, caPem);
    const ns = `tls${++this.#seq}`;
    const image = `${addr}/${ref}`;
    await runOk("ctr", ["-a", sock, "-n", ns, "images", "pull", "--hosts-dir", hosts, image], {
      env: this.#env(),
      timeoutMs: 120_000,
    });
    const ls = await runOk("ctr", ["-a", sock, "-n", ns, "images", "ls"]);
    const row = ls.stdout.split("\n").map((l) => l.trim().split(/\s+/)).find((c) => c[0] === image);
    if (!row) throw new Error(`ctr images ls has no row for ${image}:\n${ls.stdout}`);
    return row[2];
  }

  async #startContainerd(): Promise<string> {
    const d = `${this.workDir}/ctd`;
    const sock = `${d}/c.sock`;
    if (this.#containerd) return sock;
    await Deno.mkdir(d, { recursive: true });
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
      name: "containerd (tls)",
      cmd: "containerd",
      args: ["--config", `${d}/config.toml`],
      ready: async () =>
        (await run("ctr", ["-a", sock, "version"], { timeoutMs: 5000 })).code === 0,
    });
    return sock;
  }

  logs(): string {
    return this.#containerd ? this.#containerd.logs().slice(-4000) : "";
  }

  /** Stops containerd by PID, unmounts what it left, removes the work dir. */
  async close(): Promise<void> {
    try {
      await this.#containerd?.stop(10_000);
    } finally {
      this.#containerd = undefined;
      const mounts = (await Deno.readTextFile("/proc/mounts")).split("\n")
        .map((l) => l.split(" ")[1])
        .filter((m): m is string => !!m && m.startsWith(`${this.workDir}/`))
        .sort().reverse();
      for (const m of mounts) await run("umount", ["-l", m], { timeoutMs: 10_000 });
      await Deno.remove(this.workDir, { recursive: true }).catch(() => {});
    }
  }
}

/**
 * Writes `DIR/ADDR/hosts.toml` for `ctr images pull --hosts-dir DIR`: a
 * `[host."https://ADDR"]` table (without one ctr ignores the file and sends plain HTTP to
 * loopback; reference quirks 7-8), with `ca = CA_PEM` when given. Returns DIR.
 */
export async function ctrHostsDir(dir: string, addr: string, caPem?: string): Promise<string> {
  await Deno.mkdir(`${dir}/${addr}`, { recursive: true });
  await Deno.writeTextFile(
    `${dir}/${addr}/hosts.toml`,
    [
      `server = "https://${addr}"`,
      // Top level too: ctr falls back to `server` after a 4xx from the [host], and that
      // fallback has only the top-level settings (its x509 error would hide the 4xx).
      ...(caPem ? [`ca = "${caPem}"`] : []),
      `[host."https://${addr}"]`,
      `  capabilities = ["pull", "resolve"]`,
      ...(caPem ? [`  ca = "${caPem}"`] : []),
      "",
    ].join("\n"),
  );
  return dir;
}

/**
 * Adds `ADDRESS NAME # MARKER` to /etc/hosts (in place: it may be a bind mount) and
 * returns the function that removes exactly the lines carrying MARKER again.
 */
export async function hostsLine(
  address: string,
  name: string,
): Promise<() => Promise<void>> {
  const marker = `static-registry-test-${Deno.pid}-${name}`;
  const before = await Deno.readTextFile("/etc/hosts");
  if (before.split("\n").some((l) => l.split(/\s+/).slice(1).includes(name))) {
    throw new Error(`/etc/hosts already names ${name}: refusing to shadow it`);
  }
  const sep = before === "" || before.endsWith("\n") ? "" : "\n";
  await Deno.writeTextFile("/etc/hosts", `${before}${sep}${address} ${name} # ${marker}\n`);
  return async () => {
    const now = await Deno.readTextFile("/etc/hosts");
    const kept = now.split("\n").filter((l) => !l.endsWith(`# ${marker}`)).join("\n");
    await Deno.writeTextFile("/etc/hosts", kept);
  };
}

/**
 * Puts `caPem` in `/etc/docker/certs.d/ADDR/ca.crt` (dockerd reads it on every pull, so
 * no restart) and returns the function that removes the folder — and certs.d, and
 * /etc/docker, when this made them. An existing folder for ADDR is never touched.
 * skopeo and podman read the same place: remove it before testing their refusals.
 */
export async function dockerCa(addr: string, caPem: string): Promise<() => Promise<void>> {
  const made: string[] = [];
  for (const d of ["/etc/docker", "/etc/docker/certs.d"]) {
    try {
      await Deno.mkdir(d);
      made.unshift(d);
    } catch (e) {
      if (!(e instanceof Deno.errors.AlreadyExists)) throw e;
    }
  }
  const dir = `/etc/docker/certs.d/${addr}`;
  await Deno.mkdir(dir); // throws AlreadyExists rather than clobber someone's CA
  await Deno.copyFile(caPem, `${dir}/ca.crt`);
  return async () => {
    await Deno.remove(dir, { recursive: true });
    for (const d of made) await Deno.remove(d).catch(() => {});
  };
}
