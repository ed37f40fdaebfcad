/**
 * @module
 * The real clients pulling with credentials, for tests/e2e/auth_test.ts: `skopeo copy
 * --src-creds`, `podman login` + `podman pull`, `ctr images pull --user`, and `docker
 * login` + `docker pull` (+ logout) through the private containerd/dockerd of a
 * {@link PullClients}. Every command reports success or failure instead of throwing:
 * refusals are half the matrix. Plain HTTP to 127.0.0.1: docker treats 127.0.0.0/8 as an
 * insecure registry and still runs the whole login and token flow over it
 * (../shared/reference/tls-auth/README.md, quirk 1), the others are told `--tls-verify=false`
 * / `--plain-http`. Auth files and docker's config live in a private dir per command.
 *
 * Also starts the compiled binary with `auth` (tests/helpers/binary.ts waits for `/v2/`
 * to answer 200, which an auth-enabled registry never does anonymously: here `/healthz`).
 */
import { createHash } from "node:crypto";
import { binaryPath } from "../helpers/binary.ts";
import type { PullClients } from "../helpers/clients.ts";
import { freePort } from "../helpers/ports.ts";
import { type Daemon, run, type RunResult, spawnDaemon } from "../helpers/process.ts";

/** What one authenticated pull did: `digest` is what the client reports it pulled. */
export interface AuthPull {
  ok: boolean;
  digest?: string;
  /** The failing step's output (for messages and for the refusal's reason). */
  out: string;
}

export type Creds = { user: string; password: string } | undefined;

const TIMEOUT = 120_000;
const fail = (r: RunResult): AuthPull => ({ ok: false, out: `${r.stderr}\n${r.stdout}`.trim() });

/** Authenticated pulls by every client; `clients` owns the daemons and the temp dir. */
export class AuthPulls {
  #seq = 0;
  constructor(readonly clients: PullClients) {}

  /** A fresh dir; short names: podman refuses a runroot path over 50 characters. */
  #dir(name: string): string {
    const d = `${this.clients.workDir}/${name}${++this.#seq}`;
    Deno.mkdirSync(d, { recursive: true });
    return d;
  }

  async skopeo(addr: string, ref: string, creds: Creds): Promise<AuthPull> {
    const d = this.#dir("s");
    const args = ["copy", "--src-tls-verify=false", "--preserve-digests"];
    if (creds) args.push("--src-creds", `${creds.user}:${creds.password}`);
    const r = await run("skopeo", [...args, `docker://${addr}/${ref}`, `dir:${d}/out`], {
      env: { REGISTRY_AUTH_FILE: `${d}/auth.json` },
      timeoutMs: TIMEOUT,
    });
    if (r.code !== 0) return fail(r);
    const m = await Deno.readFile(`${d}/out/manifest.json`);
    return { ok: true, digest: `sha256:${createHash("sha256").update(m).digest("hex")}`, out: "" };
  }

  async podman(addr: string, ref: string, creds: Creds): Promise<AuthPull> {
    const w = this.#dir("p");
    await Deno.mkdir(`${w}/tmp`);
    await Deno.writeTextFile(
      `${w}/registries.conf`,
      `unqualified-search-registries = []\n[[registry]]\nlocation = "${addr}"\ninsecure = true\n`,
    );
    await Deno.writeTextFile(
      `${w}/storage.conf`,
      `[storage]\ndriver = "vfs"\nrunroot = "${w}/run"\ngraphroot = "${w}/root"\n`,
    );
    // podman refuses a REGISTRY_AUTH_FILE that does not exist (reference quirk 13).
    await Deno.writeTextFile(`${w}/auth.json`, "{}\n");
    const env = {
      CONTAINERS_REGISTRIES_CONF: `${w}/registries.conf`,
      CONTAINERS_STORAGE_CONF: `${w}/storage.conf`,
      REGISTRY_AUTH_FILE: `${w}/auth.json`,
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
    const o = { env, timeoutMs: TIMEOUT };
    if (creds) {
      const login = await run("podman", [
        ...base,
        "login",
        "--tls-verify=false",
        "-u",
        creds.user,
        "-p",
        creds.password,
        addr,
      ], o);
      if (login.code !== 0) return fail(login);
    }
    const image = `${addr}/${ref}`;
    const pull = await run("podman", [...base, "pull", "--tls-verify=false", image], o);
    if (pull.code !== 0) return fail(pull);
    const r = await run("podman", [...base, "image", "inspect", image], o);
    if (r.code !== 0) return fail(r);
    return { ok: true, digest: JSON.parse(r.stdout)[0].Digest, out: "" };
  }

  async ctr(addr: string, ref: string, creds: Creds): Promise<AuthPull> {
    const sock = await this.clients.containerdSocket();
    const ns = `auth${++this.#seq}`;
    const image = `${addr}/${ref}`;
    const args = ["-a", sock, "-n", ns, "images", "pull", "--plain-http"];
    if (creds) args.push("--user", `${creds.user}:${creds.password}`);
    const r = await run("ctr", [...args, image], { timeoutMs: TIMEOUT });
    if (r.code !== 0) return fail(r);
    const ls = await run("ctr", ["-a", sock, "-n", ns, "images", "ls"], { timeoutMs: TIMEOUT });
    const row = ls.stdout.split("\n").map((l) => l.trim().split(/\s+/)).find((c) => c[0] === image);
    return { ok: true, digest: row?.[2], out: ls.stdout };
  }

  async docker(addr: string, ref: string, creds: Creds): Promise<AuthPull> {
    const host = await this.clients.dockerHost();
    const env = { DOCKER_CONFIG: this.#dir("d") };
    const o = { env, timeoutMs: TIMEOUT };
    const docker = (...a: string[]) => run("docker", ["-H", host, ...a], o);
    if (creds) {
      // --password-stdin needs a stdin; `run` gives none, so -p (the warning is harmless).
      const login = await docker("login", "-u", creds.user, "-p", creds.password, addr);
      if (login.code !== 0) return fail(login);
    }
    const image = `${addr}/${ref}`;
    try {
      const pull = await docker("pull", "-q", image);
      if (pull.code !== 0) return fail(pull);
      const r = await docker("image", "inspect", "--format", "{{json .RepoDigests}}", image);
      if (r.code !== 0) return fail(r);
      const digests: string[] = JSON.parse(r.stdout);
      const digest = digests.find((d) => d.startsWith(`${addr}/`))?.split("@")[1];
      await docker("image", "rm", "-f", image);
      return { ok: true, digest, out: "" };
    } finally {
      if (creds) await docker("logout", addr);
    }
  }
}

/** The compiled binary serving `config` on 127.0.0.1, ready when `/healthz` answers. */
export async function startAuthRegistry(
  dir: string,
  config: Record<string, unknown>,
): Promise<{ url: string; addr: string; daemon: Daemon; stop(): Promise<void> }> {
  const port = await freePort();
  const addr = `127.0.0.1:${port}`;
  const file = `${dir}/cfg.json`;
  await Deno.writeTextFile(file, JSON.stringify({ ...config, listen: addr }, null, 2));
  const url = `http://${addr}`;
  const daemon = await spawnDaemon({
    name: `static-registry serve (${url})`,
    cmd: binaryPath(),
    args: ["serve", "--config", file],
    timeoutMs: 10_000,
    ready: async () => {
      const res = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(1000) });
      await res.body?.cancel();
      return res.status === 200;
    },
  });
  return { url, addr, daemon, stop: () => daemon.stop(10_000) };
}
