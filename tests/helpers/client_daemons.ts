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

/**
 * Starts dockerd on the containerd at `containerdSock`, everything under `d`; its `-H`
 * address is `unix://d/d.sock`. 127.0.0.0/8 is an insecure registry to it (plain HTTP);
 * a name resolving elsewhere is verified against /etc/docker/certs.d (tls_trust.ts).
 */
export async function startDockerd(
  d: string,
  containerdSock: string,
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
      ...["--storage-driver", "vfs", "--iptables=false", "--ip6tables=false", "--bridge=none"],
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
