/**
 * JSON value helpers and the non-apply PATCH formats.
 *
 * Strategic merge patch is treated as a JSON merge patch: the simulator has no
 * schemas to know list merge keys, and the difference only matters for lists.
 *
 * @module
 */

import { ApiError } from "./status.ts";

/** A JSON object; `any` values keep manifest traversal terse, as in the public API. */
// deno-lint-ignore no-explicit-any
export type JsonObject = Record<string, any>;

/** True for plain JSON objects (not arrays, not null). */
export function isObject(value: unknown): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Structural equality of JSON values (key order ignored). */
export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a)) {
    return Array.isArray(b) && a.length === b.length && a.every((v, i) => deepEqual(v, b[i]));
  }
  if (!isObject(a) || !isObject(b)) return false;
  const ka = Object.keys(a);
  if (ka.length !== Object.keys(b).length) return false;
  return ka.every((k) => Object.hasOwn(b, k) && deepEqual(a[k], b[k]));
}

/** Deep copy of a JSON value; faster than structuredClone for plain data. */
export function clone<T>(value: T): T {
  if (Array.isArray(value)) return value.map(clone) as T;
  if (isObject(value)) {
    const out: JsonObject = {};
    for (const k in value) out[k] = clone(value[k]);
    return out as T;
  }
  return value;
}

/** RFC 7386 JSON merge patch; returns a new value, inputs untouched. */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isObject(patch)) return clone(patch);
  const out: JsonObject = isObject(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

function patchFailure(message: string): ApiError {
  // The apiserver reports JSON patch application failures as 422 Invalid.
  return new ApiError(422, "Invalid", message);
}

function parsePointer(pointer: string): string[] {
  if (pointer === "") return [];
  if (!pointer.startsWith("/")) throw patchFailure(`invalid JSON pointer: "${pointer}"`);
  return pointer.slice(1).split("/").map((s) => s.replaceAll("~1", "/").replaceAll("~0", "~"));
}

function child(node: unknown, seg: string): unknown {
  if (Array.isArray(node)) return node[Number(seg)];
  return isObject(node) && Object.hasOwn(node, seg) ? node[seg] : undefined;
}

function parentOf(doc: unknown, path: string[], op: string): [unknown, string] {
  let node = doc;
  for (const seg of path.slice(0, -1)) {
    node = child(node, seg);
    if (node === undefined) {
      throw patchFailure(
        `${op} operation does not apply: doc is missing path: "/${path.join("/")}"`,
      );
    }
  }
  return [node, path[path.length - 1]];
}

function getAt(doc: unknown, path: string[]): unknown {
  let node = doc;
  for (const seg of path) {
    node = child(node, seg);
    if (node === undefined) return undefined;
  }
  return node;
}

function removeAt(doc: unknown, path: string[], op: string): unknown {
  const [parent, key] = parentOf(doc, path, op);
  if (Array.isArray(parent)) {
    const i = Number(key);
    if (!Number.isInteger(i) || i < 0 || i >= parent.length) {
      throw patchFailure(`Unable to remove nonexistent key: ${key}: missing value`);
    }
    return parent.splice(i, 1)[0];
  }
  if (!isObject(parent) || !Object.hasOwn(parent, key)) {
    throw patchFailure(`Unable to remove nonexistent key: ${key}: missing value`);
  }
  const old = parent[key];
  delete parent[key];
  return old;
}

function addAt(doc: unknown, path: string[], value: unknown, op: string): unknown {
  if (path.length === 0) return value;
  const [parent, key] = parentOf(doc, path, op);
  if (Array.isArray(parent)) {
    const i = key === "-" ? parent.length : Number(key);
    if (!Number.isInteger(i) || i < 0 || i > parent.length) {
      throw patchFailure(`${op} operation does not apply: index out of bounds: ${key}`);
    }
    parent.splice(i, 0, value);
  } else if (isObject(parent)) {
    parent[key] = value;
  } else {
    throw patchFailure(`${op} operation does not apply: doc is missing path: "/${path.join("/")}"`);
  }
  return doc;
}

/** RFC 6902 JSON patch; returns a new document, input untouched. */
export function jsonPatch(target: unknown, operations: unknown): unknown {
  if (!Array.isArray(operations)) {
    throw new ApiError(
      400,
      "BadRequest",
      "json: cannot unmarshal object into Go value of type jsonpatch.Patch",
    );
  }
  let doc = clone(target);
  for (const operation of operations) {
    const { op, path, from, value } = operation ?? {};
    const at = parsePointer(String(path ?? ""));
    switch (op) {
      case "add":
        doc = addAt(doc, at, clone(value), op);
        break;
      case "remove":
        removeAt(doc, at, op);
        break;
      case "replace":
        if (at.length === 0) {
          doc = clone(value);
          break;
        }
        if (getAt(doc, at) === undefined) {
          throw patchFailure(
            `replace operation does not apply: doc is missing key: ${path}: missing value`,
          );
        }
        removeAt(doc, at, op);
        doc = addAt(doc, at, clone(value), op);
        break;
      case "move": {
        const moved = removeAt(doc, parsePointer(String(from ?? "")), op);
        doc = addAt(doc, at, moved, op);
        break;
      }
      case "copy": {
        const copied = getAt(doc, parsePointer(String(from ?? "")));
        if (copied === undefined) {
          throw patchFailure(`copy operation does not apply: missing from path: ${from}`);
        }
        doc = addAt(doc, at, clone(copied), op);
        break;
      }
      case "test":
        if (!deepEqual(getAt(doc, at), value)) {
          throw patchFailure(`testing value ${path} failed: test failed`);
        }
        break;
      default:
        throw patchFailure(`Unexpected kind: ${op}`);
    }
  }
  return doc;
}
