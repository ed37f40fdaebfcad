/**
 * @module
 * The config file's schema: the ONE definition from which validation (lib/config/load.ts)
 * and the published JSON Schema (docs/config.schema.json, `scripts/gen-schema`) come.
 * `default` annotations here are the defaults the resolver applies.
 *
 * `x-expected` is our own annotation: the phrase an error message uses for a value that
 * fails the schema ("expected a duration like "10s""). It is stripped from the published
 * schema so strict JSON Schema validators accept it. So is the `format` of durations
 * ({@link DURATION_FORMAT}), which is ours too.
 *
 * Every number the runtime cannot honour is bounded here (issue 9: a config error naming
 * the key, exit 2, never a crash or a different behaviour at run time): durations by what
 * a timer can wait, counts by what their data structure can hold.
 */
import { FormatRegistry, type Static, type TSchema, Type } from "@sinclair/typebox";
import { NAME_RE } from "../oci/reference.ts";
import { DURATION_PATTERN, durationProblem } from "./duration.ts";

const closed = { additionalProperties: false } as const;

/**
 * The `format` of every duration: the pattern says it is a duration, the format that a
 * timer can wait it (lib/config/duration.ts `MAX_TIMER_MS`). TypeBox checks formats
 * through its global registry, so it is registered where the schema is defined.
 */
export const DURATION_FORMAT = "static-registry-duration";
FormatRegistry.Set(DURATION_FORMAT, (v) => durationProblem(v) === null);

function duration(description: string, def?: string) {
  return Type.String({
    pattern: DURATION_PATTERN,
    format: DURATION_FORMAT,
    description,
    examples: ["500ms", "10s", "5m", "1h30m"],
    "x-expected": 'a duration like "10s"',
    ...(def === undefined ? {} : { default: def }),
  });
}

function httpUrl(description: string) {
  return Type.String({
    pattern: "^[hH][tT][tT][pP][sS]?://",
    description,
    "x-expected": 'an absolute http(s) URL like "https://cdn.example.com/registry"',
  });
}

function storeSchema(description: string) {
  return Type.String({
    minLength: 1,
    description,
    examples: ["./data", "/srv/registry", "s3://my-bucket/registry", "https://cdn.example.com/r"],
    "x-expected": "a directory path, s3://bucket/prefix or an http(s):// URL",
  });
}

export const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;

export const OriginSchema = Type.Object({
  name: Type.String({
    pattern: "^[A-Za-z0-9][A-Za-z0-9._-]*$",
    description: "Unique name, used in logs, metrics and `check` output.",
    "x-expected": 'a name of letters, digits, ".", "_" and "-" like "cdn-a"',
  }),
  url: httpUrl("Base URL that serves the store's files: a CDN, a bucket's public endpoint."),
  presign: Type.Optional(Type.Object({
    expires: duration(
      "Lifetime of the signed URL a blob redirect carries (at most 7 days).",
      "15m",
    ),
  }, {
    ...closed,
    description: "Redirect with a presigned S3 URL (private buckets); needs an s3:// store.",
  })),
  verifyBlobs: Type.Optional(Type.Boolean({
    description: "HEAD each blob on this origin before its first redirect.",
    default: false,
  })),
}, closed);

export const S3Schema = Type.Object({
  endpoint: Type.Optional(httpUrl("S3 API endpoint (MinIO, R2, Swift s3api); AWS when absent.")),
  region: Type.Optional(Type.String({ minLength: 1, default: "us-east-1" })),
  forcePathStyle: Type.Optional(Type.Boolean({
    description: "Path-style bucket addressing (most S3-compatible servers need it).",
  })),
  accessKeyId: Type.Optional(Type.String({ minLength: 1 })),
  secretAccessKey: Type.Optional(Type.String({ minLength: 1 })),
  sessionToken: Type.Optional(Type.String({ minLength: 1 })),
  lockSettleMs: Type.Optional(Type.Integer({
    minimum: 50,
    maximum: 60_000,
    description: "Publishers' lease lock on this store (it has no conditional writes): how " +
      "long a publisher waits after writing its claim before reading it back, in ms " +
      "(default 500). Must exceed the store's small-object GET+PUT time; every publisher " +
      "of one store must use the same value.",
  })),
}, {
  ...closed,
  description: "S3 client settings for an s3:// store. Credentials not given here come from " +
    "the standard AWS environment variables and files.",
});

const originsDescription = "Where blob GETs are redirected, in order of preference; the " +
  "first healthy one wins. Without origins a directory store streams blobs itself.";

/**
 * One federated store: repositories `<prefix>/<name>` are `<name>` in `store`. The pattern
 * is the repository-name grammar (distribution-spec §"Pulling manifests", lib/oci/reference.ts).
 */
export const MountSchema = Type.Object({
  prefix: Type.String({
    pattern: NAME_RE.source,
    description: "Repository-name prefix the store is mounted under: `<prefix>/<name>` is " +
      "repository `<name>` of this store. Unique, and not inside another mount's prefix.",
    examples: ["team-a", "org/team-b"],
    "x-expected": 'a repository name like "team-a" or "org/team-b" (lowercase)',
  }),
  store: storeSchema(
    "This mount's store: a directory (relative to this file), s3://bucket/prefix, or a " +
      "read-only http(s):// base URL.",
  ),
  origins: Type.Optional(Type.Array(OriginSchema, {
    description: originsDescription + " Names are unique across the whole config.",
  })),
  // region without a default here: an absent one is inherited from the top-level s3.
  s3: Type.Optional(Type.Object({
    ...S3Schema.properties,
    region: Type.Optional(Type.String({ minLength: 1 })),
  }, {
    ...closed,
    description: "S3 settings of this mount's store. endpoint, region and forcePathStyle " +
      "not given here come from the top-level s3; credentials are taken as a unit (from here " +
      "when any credential key is set here, else from the top-level s3).",
  })),
}, closed);

/** `auth`: pull access control (lib/auth). */
export const AuthSchema = Type.Object({
  htpasswd: Type.String({
    minLength: 1,
    description: "htpasswd file of the users (relative to this file), bcrypt entries only " +
      "(`htpasswd -B`). Re-read on SIGHUP.",
    examples: ["users.htpasswd"],
  }),
  scheme: Type.Optional(Type.Union([Type.Literal("bearer"), Type.Literal("basic")], {
    description: "The challenge a 401 carries: the Docker token flow (`/token`) or Basic. " +
      "Both kinds of credentials are accepted either way.",
    default: "bearer",
    "x-expected": 'one of "bearer", "basic"',
  })),
  rules: Type.Array(
    Type.Object({
      prefix: Type.String({
        pattern: `^$|${NAME_RE.source}`,
        description: 'Repository-name prefix, by whole components ("team-a" covers ' +
          '"team-a/x", not "team-ab"); "" covers every name. The longest prefix wins.',
        "x-expected": 'a repository name like "team-a", or "" for every name',
      }),
      pull: Type.Union([
        Type.Literal("anyone"),
        Type.Literal("authenticated"),
        Type.Array(Type.String({ pattern: "^[^:\\s]+$" }), { minItems: 1 }),
      ], {
        description: 'Who may pull: "anyone", "authenticated" (any user of the file), or a ' +
          "list of user names.",
        "x-expected": '"anyone", "authenticated" or a list of user names like ["alice"]',
      }),
    }, closed),
    {
      minItems: 1,
      description: "Who may pull what. A name no rule covers is denied.",
      "x-expected": 'a list of rules like [{"prefix": "", "pull": "authenticated"}]',
    },
  ),
  tokenKey: Type.Optional(Type.String({
    minLength: 1,
    description: "PEM private key (EC P-256, RSA or Ed25519) signing the tokens of `/token`, " +
      "so replicas sharing it accept each other's tokens. Without it a random key is made " +
      "per process.",
  })),
  tokenTtl: Type.Optional(duration("Lifetime of a token issued by /token (1s to 1h).", "5m")),
}, {
  ...closed,
  description: "Pull access control. Without it, anyone may pull everything.",
});

/** `rateLimit`: a token bucket per client address (lib/auth/rate_limit.ts). */
export const RateLimitSchema = Type.Object({
  perClient: Type.String({
    pattern: "^[0-9]+(\\.[0-9]+)?/(s|m|h)$",
    description: "Sustained requests per client: a number per second, minute or hour.",
    examples: ["50/s", "600/m"],
    "x-expected": 'a rate like "50/s" (per s, m or h)',
  }),
  burst: Type.Optional(Type.Integer({
    minimum: 1,
    description: "Requests a client may send at once (default: one second's worth, at least 1).",
  })),
}, { ...closed, description: "Rate limit per client address: 429 with Retry-After over it." });

/** `routing[i]`: an origin order, or streaming, for clients in some CIDRs (lib/origins/routing.ts). */
export const RoutingRuleSchema = Type.Object({
  clients: Type.Array(Type.String({ minLength: 1 }), {
    minItems: 1,
    description: "CIDRs (IPv4 or IPv6) or addresses of the clients this rule is for.",
    examples: [["10.1.0.0/16", "fd00::/8"]],
    "x-expected": 'a list of CIDRs like ["10.1.0.0/16", "fd00::/8"]',
  }),
  origins: Type.Optional(Type.Array(Type.String({ minLength: 1 }), {
    minItems: 1,
    description: "Names of origins (of any mount) in this clients' order of preference; " +
      "when none of them is healthy, the default order.",
    examples: [["dc-mirror", "cdn-a"]],
  })),
  stream: Type.Optional(Type.Boolean({
    description: "Serve these clients' blobs from the server itself instead of redirecting " +
      "(networks that cannot reach the origins). Not with `origins`.",
  })),
}, closed);

export const ConfigSchema = Type.Object({
  $schema: Type.Optional(Type.String({
    description: 'Editors: where this schema is, e.g. "./config.schema.json". Ignored.',
  })),
  listen: Type.Optional(Type.String({
    description: 'Address to listen on: "host:port" or "[ipv6]:port" (port 0: any free port).',
    default: "127.0.0.1:5000",
    examples: ["127.0.0.1:5000", "0.0.0.0:80", "[::1]:5000"],
    "x-expected": 'an address like "127.0.0.1:5000" or "[::1]:5000"',
  })),
  store: storeSchema(
    "Where the static layout lives: a directory (relative to this file), s3://bucket/prefix, " +
      "or a read-only http(s):// base URL.",
  ),
  s3: Type.Optional(S3Schema),
  origins: Type.Optional(Type.Array(OriginSchema, {
    description: originsDescription,
    default: [],
  })),
  mounts: Type.Optional(Type.Array(MountSchema, {
    description: "Federation: more stores, each with its own origins, served under " +
      "repository-name prefixes. `store`/`origins` above are the root mount; root " +
      "repositories under a mount's prefix are hidden by the mount.",
    default: [],
  })),
  routing: Type.Optional(Type.Array(RoutingRuleSchema, {
    description: "Client routing for blob GETs, by client address (after " +
      "http.trustedProxies). The first rule whose clients match wins; clients no rule " +
      "matches get the default order (`origins`).",
    default: [],
  })),
  fallback: Type.Optional(Type.Union([Type.Literal("none"), Type.Literal("stream")], {
    description: 'When every origin is down: "none" answers blob GETs 503, "stream" serves ' +
      "them from the store itself.",
    default: "none",
    "x-expected": 'one of "none", "stream"',
  })),
  health: Type.Optional(Type.Object({
    interval: Type.Optional(duration("How often each origin's marker object is HEADed.", "10s")),
    timeout: Type.Optional(duration("Timeout of one health check.", "2s")),
    // Bounded so that "healthy after N probes" means something (N × interval).
    rise: Type.Optional(Type.Integer({
      minimum: 1,
      maximum: 1000,
      default: 2,
      description: "Consecutive successes that make an origin healthy.",
    })),
    fall: Type.Optional(Type.Integer({
      minimum: 1,
      maximum: 1000,
      default: 2,
      description: "Consecutive failures that make an origin unhealthy.",
    })),
  }, { ...closed, default: {} })),
  verifyBlobs: Type.Optional(Type.Object({
    cacheSize: Type.Optional(Type.Integer({
      // An LRU needs room for one entry (lru-cache refuses max 0), and lru-cache allocates
      // its arrays for `max` entries up front, per origin: 1e12 crashed the start.
      minimum: 1,
      maximum: 1_000_000,
      default: 10000,
      description: "Blob presence results remembered per origin.",
    })),
    negativeTtl: Type.Optional(duration("How long a missing blob is remembered.", "30s")),
  }, { ...closed, default: {} })),
  refresh: Type.Optional(Type.Object({
    interval: Type.Optional(duration("How often the index is re-read from the store.", "30s")),
  }, { ...closed, default: {} })),
  index: Type.Optional(Type.Object({
    load: Type.Optional(Type.Union([Type.Literal("all"), Type.Literal("on-demand")], {
      default: "all",
      description: 'Which tag indexes are held: "all" (read at start, served while the ' +
        'store is down) or "on-demand" (read at their first request, held in an LRU ' +
        "bounded by cacheBytes: for stores too big to hold, lib/index/held.ts).",
      "x-expected": '"all" or "on-demand"',
    })),
    // At least one large tag index; at most what a 64-bit host could hold.
    cacheBytes: Type.Optional(Type.Integer({
      minimum: 1 << 20,
      maximum: 2 ** 40,
      default: 64 << 20,
      description: 'With load "on-demand": memory the held tag indexes may take, in ' +
        "bytes (each counted as 1.75 times its document's size: what one takes once parsed).",
    })),
  }, { ...closed, default: {} })),
  v1: Type.Optional(Type.Object({
    origin: Type.Optional(httpUrl("Base URL that /v1/... requests are redirected to.")),
  }, { ...closed, default: {} })),
  log: Type.Optional(Type.Object({
    level: Type.Optional(Type.Union(LOG_LEVELS.map((l) => Type.Literal(l)), {
      default: "info",
      "x-expected": `one of ${LOG_LEVELS.map((l) => `"${l}"`).join(", ")}`,
    })),
    access: Type.Optional(Type.Boolean({
      default: true,
      description: "One JSON line per request (health probes and /metrics at debug).",
    })),
  }, { ...closed, default: {} })),
  metrics: Type.Optional(Type.Object({
    listen: Type.Optional(Type.String({
      description: "Serve /metrics on this address only (not on `listen`), plain HTTP.",
      examples: ["127.0.0.1:9090", "[::1]:9090"],
      "x-expected": 'an address like "127.0.0.1:9090" or "[::1]:9090"',
    })),
  }, { ...closed, default: {} })),
  tls: Type.Optional(Type.Object({
    cert: Type.String({
      minLength: 1,
      description: "PEM certificate chain, leaf first (relative to this file).",
      examples: ["fullchain.pem"],
    }),
    key: Type.String({
      minLength: 1,
      description: "PEM private key of the leaf, unencrypted (relative to this file).",
      examples: ["key.pem"],
    }),
  }, {
    ...closed,
    description: "Serve HTTPS (TLS 1.2 or later) on `listen`. Both files are re-read on " +
      "SIGHUP: a good new pair is used for new connections, open ones keep theirs.",
  })),
  http: Type.Optional(Type.Object({
    idleTimeout: Type.Optional(
      duration("How long an idle connection is kept open (at most 255s).", "30s"),
    ),
    trustedProxies: Type.Optional(Type.Array(Type.String({ minLength: 1 }), {
      description: "CIDRs (IPv4 or IPv6) of proxies whose X-Forwarded-For is believed: the " +
        "client is the rightmost address that is not one of them.",
      examples: [["10.0.0.0/8", "::1/128"]],
      default: [],
    })),
  }, { ...closed, default: {} })),
  auth: Type.Optional(AuthSchema),
  rateLimit: Type.Optional(RateLimitSchema),
}, {
  ...closed,
  title: "static-registry config",
  description: "Config file of `static-registry serve --config FILE`.",
});

/** The config as written in the file (every key but `store` optional). */
export type UserConfig = Static<typeof ConfigSchema>;

/** The published JSON Schema document (docs/config.schema.json), as text. */
export function jsonSchemaText(): string {
  const doc = {
    $schema: "https://json-schema.org/draft/2020-12/schema",
    ...ConfigSchema,
  };
  const ours = (k: string, v: unknown) =>
    k === "x-expected" || (k === "format" && v === DURATION_FORMAT);
  return JSON.stringify(doc, (k, v) => (ours(k, v) ? undefined : v), 2) + "\n";
}

/** The `x-expected` phrase of a schema node, if it has one. */
export function expectedPhrase(schema: TSchema): string | undefined {
  return (schema as Record<string, unknown>)["x-expected"] as string | undefined;
}
