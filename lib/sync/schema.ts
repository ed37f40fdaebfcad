/**
 * @module
 * The shape of a sync document (the YAML/JSON form of `static-registry sync FILE`), in
 * TypeBox like lib/config/schema.ts: one schema, from which the types and the error
 * messages (lib/config/errors.ts `describeError`, `x-expected` phrases) come.
 *
 * ```yaml
 * rate: 10/s              # requests a second to each upstream host (default: unlimited)
 * concurrency: 4          # images copied at once (default 4)
 * images:
 *   - source: docker://registry.example/team/app    # no tag: every tag the upstream lists
 *     target: mirror/app                            # default: the upstream repository
 *     tags: { regex: "^v1\\.", semver: ">=1.2 <2", newest: 3 }
 *     platforms: [linux/amd64, linux/arm64/v8]      # or "all" (the default)
 *     signatures: true                              # referrers and cosign tags too
 * ```
 *
 * Grammars that TypeBox cannot express well (the `docker://` reference, repository names,
 * the regex and semver range) are checked by file.ts with the modules that own them.
 */
import { type Static, Type } from "@sinclair/typebox";

/** `os/arch[/variant]`, as `docker pull --platform` and skopeo's `--override-*` read it. */
export const PLATFORM_PATTERN = "^[a-z0-9._-]+/[a-z0-9._-]+(/[a-z0-9._-]+)?$";

/** `N/s`, `N/m` or `N/h`: requests per second, minute or hour. */
export const RATE_PATTERN = "^[0-9]+(\\.[0-9]+)?/(s|m|h)$";

export const RateSchema = Type.String({
  pattern: RATE_PATTERN,
  "x-expected": 'a rate like "10/s", "600/m" or "1000/h"',
});

export const TagFilterSchema = Type.Object({
  /** JavaScript regular expression a tag must match (unanchored: write ^…$ for whole). */
  regex: Type.Optional(Type.String({ minLength: 1 })),
  /** npm `semver` range (`>=1.2 <2`, `^3`); tags that are not versions are left out. */
  semver: Type.Optional(Type.String({ minLength: 1 })),
  /** Keep only the newest N of what the other filters let through (file.ts: the order). */
  newest: Type.Optional(Type.Integer({ minimum: 1, maximum: 100_000 })),
}, { additionalProperties: false });
export type TagFilter = Static<typeof TagFilterSchema>;

export const EntrySchema = Type.Object({
  /** `docker://HOST/REPO[:TAG|@DIGEST]`. */
  source: Type.String({
    pattern: "^docker://",
    "x-expected": 'a reference like "docker://HOST/REPO[:TAG|@DIGEST]"',
  }),
  /** The repository in the store (default: the upstream repository path). */
  target: Type.Optional(Type.String({ minLength: 1 })),
  tags: Type.Optional(TagFilterSchema),
  platforms: Type.Optional(Type.Union([
    Type.Literal("all"),
    Type.Array(
      Type.String({ pattern: PLATFORM_PATTERN, "x-expected": 'a platform like "linux/arm64/v8"' }),
      { minItems: 1 },
    ),
  ], { "x-expected": '"all" or a list of platforms like ["linux/amd64"]' })),
  /** Copy the image's signatures and attestations (referrers, cosign tags). */
  signatures: Type.Optional(Type.Boolean()),
}, { additionalProperties: false });
export type Entry = Static<typeof EntrySchema>;

export const SyncDocumentSchema = Type.Object({
  rate: Type.Optional(RateSchema),
  concurrency: Type.Optional(Type.Integer({ minimum: 1, maximum: 64 })),
  images: Type.Array(EntrySchema),
}, { additionalProperties: false });
export type SyncDocument = Static<typeof SyncDocumentSchema>;
