/**
 * @module
 * The static layout (versions 1 and 2) in one import (docs/LAYOUT.md is its prose): the keys
 * (keys.ts), the document shapes (schema.ts), their rules (rules.ts), the catalog of either
 * version (catalog.ts), the one reader and
 * writer (documents.ts), the tag-index entry builder (entry.ts) and the walker over what
 * tags reference (walk.ts). Modules may import those files directly; this one is for
 * callers that want the whole vocabulary.
 */
export * from "./keys.ts";
export * from "./schema.ts";
export * from "./rules.ts";
export * from "./catalog.ts";
export * from "./documents.ts";
export * from "./entry.ts";
export * from "./walk.ts";
