/**
 * @module
 * A free TCP port on 127.0.0.1 for a server a test starts. The kernel picks it (listen on
 * port 0), we read it and close the listener; the small race until the server binds it is
 * accepted in tests.
 */

/**
 * Returns a port on 127.0.0.1 that nothing was listening on a moment ago.
 *
 * @example
 * ```ts
 * const port = freePort();
 * const cfg = { listen: `127.0.0.1:${port}`, store: dir };
 * ```
 */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  try {
    return (listener.addr as Deno.NetAddr).port;
  } finally {
    listener.close();
  }
}
