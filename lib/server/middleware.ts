/**
 * @module
 * The middleware chain, composed once per app. Each layer (and the route at its end) is
 * guarded: whatever it throws or rejects with is rendered right there by the one
 * renderer (`renderError`, lib/server/http.ts), so the layer outside it always gets a
 * Response and sees the status that is sent — an access log or request counter never
 * misses an error. The chain adds no promise of its own: a synchronous route stays
 * synchronous through every synchronous layer.
 */
import type { Middleware, Reply, RequestContext, RouteHandler } from "./context.ts";

/** Composes `chain` (outermost first) around `route`; `render` turns a throw into a Response. */
export function compose(
  chain: readonly Middleware[],
  route: RouteHandler,
  render: (err: unknown) => Response,
): RouteHandler {
  const guard = (fn: RouteHandler): RouteHandler =>
    function guarded(c: RequestContext): Reply {
      try {
        const res = fn(c);
        return res instanceof Promise ? res.then(undefined, render) : res;
      } catch (err) {
        return render(err);
      }
    };
  let run = guard(route);
  for (let i = chain.length - 1; i >= 0; i--) {
    const layer = chain[i];
    const inner = run;
    run = guard((c) => layer(c, () => inner(c)));
  }
  return run;
}

/** Runs `fn` on the Response of `res`, without a promise when `res` is one already. */
export function onResponse(res: Reply, fn: (res: Response) => Response): Reply {
  return res instanceof Promise ? res.then(fn) : fn(res);
}
