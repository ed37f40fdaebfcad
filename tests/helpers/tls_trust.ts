/**
 * @module
 * What makes the pull clients trust ONE test CA over HTTPS, and nothing else (recipes:
 * ../shared/reference/tls-auth/pull-tls.sh): ctr's hosts.toml with `ca =`
 * ({@link ctrHostsDir}; skopeo and podman take a cert dir on the command line, see
 * tests/helpers/clients.ts), docker's `/etc/docker/certs.d/HOST:PORT/ca.crt`
 * ({@link dockerCa}), and the host name they reach the registry by ({@link hostsLine}).
 *
 * The host must be a name, not localhost or a 127/8 address: dockerd treats every
 * registry resolving into 127.0.0.0/8 as insecure and never verifies it, so the tests add
 * a name resolving only to ::1.
 */
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
