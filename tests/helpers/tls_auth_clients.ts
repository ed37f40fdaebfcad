/**
 * @module
 * The real clients pulling WITH credentials OVER HTTPS, each trusting one test CA and
 * nothing else (the TLS recipes of tls_clients.ts, the credential flows of
 * tests/e2e/auth_clients.ts): `skopeo copy --src-creds --src-cert-dir`, `podman login
 * --cert-dir` + `podman pull --cert-dir`, `ctr images pull --user --hosts-dir` (hosts.toml
 * `ca =`). docker needs no variant: `AuthPulls.docker` (login, pull, logout through the
 * private dockerd) is already strict for a name resolving outside 127.0.0.0/8, once
 * `dockerCa` has put the CA in /etc/docker/certs.d.
 *
 * No `--tls-verify=false`, no `insecure`, no `--plain-http` anywhere: a client that does not
 * trust the CA fails. Like AuthPulls, every command reports success or failure instead of
 * throwing (refusals are half of the matrix), and auth files live in a private dir.
 */
import { createHash } from "node:crypto";
import type { AuthPull, Creds } from "../e2e/auth_clients.ts";
import type { PullClients } from "./clients.ts";
import { run, type RunResult } from "./process.ts";
import { ctrHostsDir } from "./tls_clients.ts";

const TIMEOUT = 120_000;
const fail = (r: RunResult): AuthPull => ({ ok: false, out: `${r.stderr}\n${r.stdout}`.trim() });

/** Authenticated HTTPS pulls; `clients` owns containerd and the temp dir. */
export class TlsAuthPulls {
  #seq = 0;
  /** `certDir` holds only `ca.crt` (skopeo, podman); `caPem` is the same CA for ctr. */
  constructor(
    readonly clients: PullClients,
    readonly trust: { certDir: string; caPem: string },
  ) {}

  /** A fresh dir; short names: podman refuses a runroot path over 50 characters. */
  #dir(name: string): string {
    const d = `${this.clients.workDir}/${name}${++this.#seq}`;
    Deno.mkdirSync(`${d}/home`, { recursive: true });
    return d;
  }

  /** HOME and XDG dirs private to `d`: no CA or credential from /root is picked up. */
  #env(d: string): Record<string, string> {
    return {
      HOME: `${d}/home`,
      XDG_CONFIG_HOME: `${d}/home/.config`,
      XDG_RUNTIME_DIR: `${d}/home`,
      REGISTRY_AUTH_FILE: `${d}/auth.json`,
    };
  }

  async skopeo(addr: string, ref: string, creds: Creds): Promise<AuthPull> {
    const d = this.#dir("s");
    const args = ["copy", "--src-cert-dir", this.trust.certDir, "--preserve-digests"];
    if (creds) args.push("--src-creds", `${creds.user}:${creds.password}`);
    const r = await run("skopeo", [...args, `docker://${addr}/${ref}`, `dir:${d}/out`], {
      env: this.#env(d),
      timeoutMs: TIMEOUT,
    });
    if (r.code !== 0) return fail(r);
    const m = await Deno.readFile(`${d}/out/manifest.json`);
    return { ok: true, digest: `sha256:${createHash("sha256").update(m).digest("hex")}`, out: "" };
  }

  async podman(addr: string, ref: string, creds: Creds): Promise<AuthPull> {
    const w = this.#dir("p");
    await Deno.mkdir(`${w}/tmp`);
    await Deno.writeTextFile(`${w}/registries.conf`, "unqualified-search-registries = []\n");
    await Deno.writeTextFile(
      `${w}/storage.conf`,
      `[storage]\ndriver = "vfs"\nrunroot = "${w}/run"\ngraphroot = "${w}/root"\n`,
    );
    // podman refuses a REGISTRY_AUTH_FILE that does not exist (reference quirk 13).
    await Deno.writeTextFile(`${w}/auth.json`, "{}\n");
    const env = {
      ...this.#env(w),
      CONTAINERS_REGISTRIES_CONF: `${w}/registries.conf`,
      CONTAINERS_STORAGE_CONF: `${w}/storage.conf`,
    };
    const base = [
      ...["--root", `${w}/root`, "--runroot", `${w}/run`, "--tmpdir", `${w}/tmp`],
      ...["--storage-driver", "vfs", "--cgroup-manager=cgroupfs", "--events-backend=file"],
    ];
    const trust = ["--cert-dir", this.trust.certDir];
    const o = { env, timeoutMs: TIMEOUT };
    if (creds) {
      const login = await run("podman", [
        ...base,
        "login",
        ...trust,
        ...["-u", creds.user, "-p", creds.password],
        addr,
      ], o);
      if (login.code !== 0) return fail(login);
    }
    const image = `${addr}/${ref}`;
    const pull = await run("podman", [...base, "pull", "-q", ...trust, image], o);
    if (pull.code !== 0) return fail(pull);
    const r = await run("podman", [...base, "image", "inspect", image], o);
    if (r.code !== 0) return fail(r);
    return { ok: true, digest: JSON.parse(r.stdout)[0].Digest, out: "" };
  }

  async ctr(addr: string, ref: string, creds: Creds): Promise<AuthPull> {
    const sock = await this.clients.containerdSocket();
    const d = this.#dir("c");
    const hosts = await ctrHostsDir(`${d}/hosts`, addr, this.trust.caPem);
    const ns = `tlsauth${++this.#seq}`;
    const image = `${addr}/${ref}`;
    const args = ["-a", sock, "-n", ns, "images", "pull", "--hosts-dir", hosts];
    if (creds) args.push("--user", `${creds.user}:${creds.password}`);
    const r = await run("ctr", [...args, image], { env: this.#env(d), timeoutMs: TIMEOUT });
    if (r.code !== 0) return fail(r);
    const ls = await run("ctr", ["-a", sock, "-n", ns, "images", "ls"], { timeoutMs: TIMEOUT });
    const row = ls.stdout.split("\n").map((l) => l.trim().split(/\s+/)).find((c) => c[0] === image);
    return { ok: true, digest: row?.[2], out: ls.stdout };
  }
}
