/**
 * @module
 * The private containerd and dockerd behind {@link PullClients}: state, sockets and config
 * under a temp dir, unix sockets only, nothing in /etc read or changed; each is stopped by
 * PID through its {@link Daemon}. Also the mount clean-up they need afterwards.
 */
import { type Daemon, run, spawnDaemon } from "./process.ts";

/** Starts containerd with everything under `d`; its socket is `d/c.sock`. */
export async function startContainerd(d: string): Promise<{ daemon: Daemon; sock: string }> {
  const sock = `${d}/c.sock`;
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
  const daemon = await spawnDaemon({
    name: "containerd",
    cmd: "containerd",
    args: ["--config", `${d}/config.toml`],
    ready: async () => (await run("ctr", ["-a", sock, "version"], { timeoutMs: 5000 })).code === 0,
  });
  return { daemon, sock };
}

/** A graph driver the private dockerd can run on. */
export type StorageDriver = "overlay2" | "vfs";

/** The started dockerd: its `-H` address, the graph driver it runs, and why not overlay2. */
export interface Dockerd {
  daemon: Daemon;
  host: string;
  driver: StorageDriver;
  /** Set when overlay2 was wanted and could not start: the reason, for a report. */
  fallback?: string;
}

/**
 * Starts dockerd on the containerd at `containerdSock`, everything under `d`; its `-H`
 * address is `unix://d/d.sock`. 127.0.0.0/8 is an insecure registry to it (plain HTTP);
 * a name resolving elsewhere is verified against /etc/docker/certs.d (tls_trust.ts).
 *
 * Graph driver: overlay2 where it starts, else vfs. vfs copies each layer's parent before
 * unpacking the layer (O(layers × image size) of local copying per pull), which buried the
 * registry's share of a docker pull; overlay2 unpacks each layer once. overlay2 needs the
 * overlay filesystem in the kernel and a data root that is not itself overlayfs or tmpfs
 * without d_type (dockerd checks both and refuses to start); when it refuses, its reason is
 * kept in `fallback` and vfs is started on a fresh data root. `driver: "vfs"` skips the try.
 */
export async function startDockerd(
  d: string,
  containerdSock: string,
  opts: { driver?: StorageDriver } = {},
): Promise<Dockerd> {
  if (opts.driver !== "vfs") {
    const why = await overlayMissing();
    if (!why) {
      try {
        return { ...await dockerdWith(d, containerdSock, "overlay2"), driver: "overlay2" };
      } catch (e) {
        const fallback = `overlay2 did not start: ${firstLine(e)}`;
        await unmountUnder(d);
        for (const left of ["data", "dockerd.pid", "d.sock"]) {
          await Deno.remove(`${d}/${left}`, { recursive: true }).catch(() => {});
        }
        return { ...await dockerdWith(d, containerdSock, "vfs"), driver: "vfs", fallback };
      }
    }
    return { ...await dockerdWith(d, containerdSock, "vfs"), driver: "vfs", fallback: why };
  }
  return { ...await dockerdWith(d, containerdSock, "vfs"), driver: "vfs" };
}

/** Why overlayfs cannot be used here, or undefined when /proc/filesystems lists it. */
async function overlayMissing(): Promise<string | undefined> {
  const fs = await Deno.readTextFile("/proc/filesystems").catch(() => "");
  if (/\boverlay$/m.test(fs)) return undefined;
  // The module may be there unloaded: modprobe is cheap and harmless when it is not.
  await run("modprobe", ["overlay"], { timeoutMs: 10_000 }).catch(() => {});
  const again = await Deno.readTextFile("/proc/filesystems").catch(() => "");
  return /\boverlay$/m.test(again)
    ? undefined
    : "the kernel has no overlay filesystem (not in /proc/filesystems, modprobe overlay failed)";
}

/** The dockerd log line that says why it exited (its "failed to start daemon" line). */
function firstLine(e: unknown): string {
  const text = (e as Error)?.message ?? String(e);
  const reason = /failed to start daemon[^\n]*/.exec(text)?.[0] ??
    /level=(?:fatal|error)[^\n]*/.exec(text)?.[0];
  return (reason ?? text.split("\n")[0]).slice(0, 300);
}

async function dockerdWith(
  d: string,
  containerdSock: string,
  driver: StorageDriver,
): Promise<{ daemon: Daemon; host: string }> {
  const host = `unix://${d}/d.sock`;
  await Deno.mkdir(`${d}/exec`, { recursive: true });
  // An empty daemon.json so /etc/docker/daemon.json never applies.
  await Deno.writeTextFile(`${d}/daemon.json`, "{}\n");
  const daemon = await spawnDaemon({
    name: "dockerd",
    cmd: "dockerd",
    args: [
      ...["--config-file", `${d}/daemon.json`, "--data-root", `${d}/data`],
      ...["--exec-root", `${d}/exec`, "--pidfile", `${d}/dockerd.pid`],
      ...["--storage-driver", driver, "--iptables=false", "--ip6tables=false", "--bridge=none"],
      ...["--insecure-registry", "127.0.0.1/8", "--containerd", containerdSock, "-H", host],
    ],
    timeoutMs: 30_000,
    ready: async () =>
      (await run("docker", ["-H", host, "version"], { timeoutMs: 5000 })).code === 0,
  });
  return { daemon, host };
}

/** Lazily unmounts every mount point under `dir`, deepest first (daemons may leave some). */
export async function unmountUnder(dir: string): Promise<void> {
  const mounts = (await Deno.readTextFile("/proc/mounts")).split("\n")
    .map((l) => l.split(" ")[1]?.replace(/\\040/g, " "))
    .filter((m): m is string => !!m && (m === dir || m.startsWith(`${dir}/`)))
    .sort()
    .reverse();
  for (const m of mounts) await run("umount", ["-l", m], { timeoutMs: 10_000 });
}
