/**
 * Field ownership (`metadata.managedFields`) and server-side apply.
 *
 * A simplification of structured-merge-diff: without schemas every list is
 * atomic (owned as a whole, like `args`), maps are granular. That keeps the
 * behaviour callers rely on: appliers own what they sent, fields they stop
 * sending are removed, changing someone else's field is a 409 unless forced,
 * and re-applying the same configuration is a no-op.
 *
 * @module
 */

import { clone, deepEqual, isObject, type JsonObject } from "./patch.ts";
import { ApiError } from "./status.ts";

/** Which part of an object an operation may touch. */
export type Scope = "main" | "status";

const SEP = "\u0001";

/** Server-maintained metadata, never owned by a manager. */
const systemMeta = new Set([
  "name",
  "namespace",
  "uid",
  "resourceVersion",
  "generation",
  "creationTimestamp",
  "deletionTimestamp",
  "deletionGracePeriodSeconds",
  "managedFields",
  "selfLink",
]);

/**
 * Leaf paths (joined with SEP) and their values. `status` is only visited for
 * the status scope and skipped in the main scope when the kind has a status
 * subresource.
 */
export function leaves(obj: JsonObject, scope: Scope, hasStatus: boolean): Map<string, unknown> {
  const out = new Map<string, unknown>();
  const walk = (value: unknown, path: string) => {
    // Maps are granular and an empty one owns nothing, as with the apiserver's
    // typed objects (where `omitempty` drops empty maps before ownership is computed).
    if (isObject(value)) {
      for (const [k, v] of Object.entries(value)) walk(v, path + SEP + k);
    } else {
      out.set(path, value);
    }
  };
  for (const [key, value] of Object.entries(obj)) {
    if (key === "apiVersion" || key === "kind") continue;
    if (scope === "status" ? key !== "status" : key === "status" && hasStatus) continue;
    if (key === "metadata" && isObject(value)) {
      for (const [mk, mv] of Object.entries(value)) {
        if (!systemMeta.has(mk)) walk(mv, `metadata${SEP}${mk}`);
      }
      continue;
    }
    walk(value, key);
  }
  return out;
}

function related(a: string, b: string): boolean {
  return a === b || a.startsWith(b + SEP) || b.startsWith(a + SEP);
}

function getPath(obj: unknown, path: string): unknown {
  let node = obj;
  for (const seg of path.split(SEP)) {
    if (!isObject(node) || !Object.hasOwn(node, seg)) return undefined;
    node = node[seg];
  }
  return node;
}

/** Removes a leaf and the maps it leaves empty below the top level. */
function deletePath(obj: JsonObject, path: string): void {
  const segs = path.split(SEP);
  const chain: JsonObject[] = [obj];
  for (const seg of segs.slice(0, -1)) {
    const next = chain[chain.length - 1][seg];
    if (!isObject(next)) return;
    chain.push(next);
  }
  delete chain[chain.length - 1][segs[segs.length - 1]];
  for (let i = chain.length - 1; i >= 2; i--) {
    if (Object.keys(chain[i]).length > 0) break;
    delete chain[i - 1][segs[i - 1]];
  }
}

/** Objects merge recursively, everything else replaces, `null` removes. */
function applyMerge(live: unknown, config: unknown): unknown {
  if (!isObject(config)) return clone(config);
  const out: JsonObject = isObject(live) ? { ...live } : {};
  for (const [k, v] of Object.entries(config)) {
    if (v === null) delete out[k];
    else out[k] = applyMerge(out[k], v);
  }
  return out;
}

/** Encodes leaf paths as `fieldsV1` (`{"f:spec":{"f:replicas":{}}}`). */
export function toFieldsV1(paths: Iterable<string>): JsonObject {
  const root: JsonObject = {};
  for (const path of paths) {
    let node = root;
    for (const seg of path.split(SEP)) node = node[`f:${seg}`] ??= {};
  }
  return root;
}

/** Decodes `fieldsV1` into leaf paths. */
export function fromFieldsV1(fields: unknown): Set<string> {
  const out = new Set<string>();
  const walk = (node: unknown, path: string) => {
    const keys = isObject(node) ? Object.keys(node).filter((k) => k.startsWith("f:")) : [];
    if (keys.length === 0 && path) out.add(path);
    for (const k of keys) {
      walk((node as JsonObject)[k], path ? path + SEP + k.slice(2) : k.slice(2));
    }
  };
  walk(fields, "");
  return out;
}

interface Entry {
  manager: string;
  operation: "Apply" | "Update";
  apiVersion: string;
  time: string;
  subresource?: string;
  paths: Set<string>;
  changed: boolean;
}

function readEntries(obj: JsonObject | undefined): Entry[] {
  const raw = obj?.metadata?.managedFields;
  if (!Array.isArray(raw)) return [];
  return raw.filter(isObject).map((e) => ({
    manager: String(e.manager ?? ""),
    operation: e.operation === "Apply" ? "Apply" : "Update",
    apiVersion: String(e.apiVersion ?? ""),
    time: String(e.time ?? ""),
    subresource: e.subresource,
    paths: fromFieldsV1(e.fieldsV1),
    changed: false,
  }));
}

function writeEntries(entries: Entry[]): JsonObject[] {
  return entries.filter((e) => e.paths.size > 0).map((e) => {
    const out: JsonObject = {
      manager: e.manager,
      operation: e.operation,
      apiVersion: e.apiVersion,
      time: e.time,
      fieldsType: "FieldsV1",
      fieldsV1: toFieldsV1([...e.paths].sort()),
    };
    if (e.subresource) out.subresource = e.subresource;
    return out;
  });
}

/** RFC 3339 with second precision, like `metav1.Time`. */
export function nowTime(): string {
  return new Date().toISOString().replace(/\.\d+Z$/, "Z");
}

/** The manager the apiserver derives from a User-Agent when `fieldManager` is absent. */
export function managerFromUserAgent(userAgent: string | null): string {
  return (userAgent ?? "").split("/")[0].slice(0, 128);
}

function entryFor(
  entries: Entry[],
  manager: string,
  operation: Entry["operation"],
  apiVersion: string,
  scope: Scope,
): Entry {
  const subresource = scope === "status" ? "status" : undefined;
  let entry = entries.find((e) =>
    e.manager === manager && e.operation === operation && e.subresource === subresource &&
    (operation === "Apply" || e.apiVersion === apiVersion)
  );
  if (!entry) {
    entry = {
      manager,
      operation,
      apiVersion,
      time: "",
      subresource,
      paths: new Set(),
      changed: true,
    };
    entries.push(entry);
  }
  return entry;
}

/** Parameters shared by ownership updates. */
export interface OwnershipContext {
  /** Field manager of the write. */
  manager: string;
  /** apiVersion recorded in the managedFields entry. */
  apiVersion: string;
  /** Main resource or status subresource. */
  scope: Scope;
  /** Whether the kind has a status subresource (then `.status` is not owned via the main resource). */
  hasStatus: boolean;
}

/**
 * Records a non-apply write (create, update, patch): the manager takes every
 * field it changed, taking them away from other managers without conflict.
 * Returns the new `managedFields` for `next`.
 */
export function recordUpdate(
  previous: JsonObject | undefined,
  next: JsonObject,
  ctx: OwnershipContext,
): JsonObject[] {
  const before = previous ? leaves(previous, ctx.scope, ctx.hasStatus) : new Map();
  const after = leaves(next, ctx.scope, ctx.hasStatus);
  const touched: string[] = [];
  for (const [path, value] of after) {
    if (!before.has(path) || !deepEqual(before.get(path), value)) touched.push(path);
  }
  const gone = [...before.keys()].filter((p) => !after.has(p));
  const entries = readEntries(previous);
  if (touched.length === 0 && gone.length === 0) return writeEntries(entries);
  for (const e of entries) {
    for (const p of [...e.paths]) {
      if (gone.some((g) => related(p, g)) || touched.some((t) => related(p, t))) {
        e.paths.delete(p);
        e.changed = true;
      }
    }
  }
  if (touched.length > 0) {
    const own = entryFor(entries, ctx.manager, "Update", ctx.apiVersion, ctx.scope);
    for (const t of touched) own.paths.add(t);
    own.changed = true;
  }
  const time = nowTime();
  for (const e of entries) if (e.changed) e.time = time;
  return writeEntries(entries);
}

/** Result of a server-side apply. */
export interface ApplyResult {
  /** The object to store (with managedFields); `live` itself when nothing changed. */
  object: JsonObject;
  /** False for a no-op apply, which must not bump resourceVersion. */
  changed: boolean;
}

function conflictMessage(conflicts: { manager: string; path: string }[]): string {
  if (conflicts.length === 1) {
    return `Apply failed with 1 conflict: conflict with ${conflicts[0].manager}: ${
      conflicts[0].path
    }`;
  }
  const byManager = new Map<string, string[]>();
  for (const c of conflicts) byManager.set(c.manager, [...byManager.get(c.manager) ?? [], c.path]);
  const lines: string[] = [];
  for (const manager of [...byManager.keys()].sort()) {
    lines.push(`conflicts with ${manager}:`);
    for (const p of byManager.get(manager)!) lines.push(`- ${p}`);
  }
  return `Apply failed with ${conflicts.length} conflicts: ${lines.join("\n")}`;
}

// As printed by the apiserver: appliers by name, updaters with the version they used.
function managerLabel(e: Entry): string {
  const name = JSON.stringify(e.manager);
  return e.operation === "Update" ? `${name} using ${e.apiVersion}` : name;
}

const fieldLabel = (path: string) => "." + path.split(SEP).join(".");

/**
 * Server-side apply of `config` by `ctx.manager` onto `live` (undefined when
 * creating). Throws a 409 Conflict ApiError listing conflicting fields unless
 * `force`.
 */
export function serverSideApply(
  live: JsonObject | undefined,
  config: JsonObject,
  ctx: OwnershipContext & { force: boolean },
): ApplyResult {
  const base: JsonObject = live ?? {};
  const configLeaves = leaves(config, ctx.scope, ctx.hasStatus);
  const entries = readEntries(live);
  const own = entryFor(entries, ctx.manager, "Apply", ctx.apiVersion, ctx.scope);
  const others = entries.filter((e) => e !== own);

  // Start from the live object minus what this manager stopped sending and nobody else owns.
  const merged = clone(base);
  for (const p of own.paths) {
    if (configLeaves.has(p) || others.some((e) => [...e.paths].some((q) => related(p, q)))) {
      continue;
    }
    deletePath(merged, p);
  }
  let scoped: JsonObject = {};
  for (const [k, v] of Object.entries(config)) {
    if (k === "apiVersion" || k === "kind") continue;
    if (ctx.scope === "status" ? k !== "status" : k === "status" && ctx.hasStatus) continue;
    if (k === "metadata" && isObject(v)) {
      const meta: JsonObject = {};
      for (const [mk, mv] of Object.entries(v)) if (!systemMeta.has(mk)) meta[mk] = mv;
      scoped.metadata = meta;
    } else {
      scoped[k] = v;
    }
  }
  scoped = applyMerge(merged, scoped) as JsonObject;

  const conflicts: { manager: string; path: string; leaf: string; entry: Entry }[] = [];
  for (const e of others) {
    for (const p of e.paths) {
      const touched = [...configLeaves.keys()].some((q) => related(p, q));
      if (touched && !deepEqual(getPath(base, p), getPath(scoped, p))) {
        conflicts.push({ manager: managerLabel(e), path: fieldLabel(p), leaf: p, entry: e });
      }
    }
  }
  if (conflicts.length > 0 && !ctx.force) {
    throw new ApiError(409, "Conflict", conflictMessage(conflicts), {
      causes: conflicts.map((c) => ({
        reason: "FieldManagerConflict",
        message: `conflict with ${c.manager}`,
        field: c.path,
      })),
    });
  }
  for (const c of conflicts) {
    c.entry.paths.delete(c.leaf);
    c.entry.changed = true;
  }
  const ownBefore = [...own.paths].sort();
  own.paths = new Set(configLeaves.keys());
  own.apiVersion = ctx.apiVersion;
  if (!deepEqual(ownBefore, [...own.paths].sort())) own.changed = true;

  const { managedFields: _ignored, ...liveMeta } = base.metadata ?? {};
  const { managedFields: _ignored2, ...nextMeta } = scoped.metadata ?? {};
  const sameObject = live !== undefined &&
    deepEqual({ ...base, metadata: liveMeta }, { ...scoped, metadata: nextMeta });
  if (sameObject && !entries.some((e) => e.changed)) return { object: live, changed: false };

  const time = nowTime();
  for (const e of entries) if (e.changed) e.time = time;
  scoped.metadata = { ...scoped.metadata, managedFields: writeEntries(entries) };
  return { object: scoped, changed: true };
}
