/**
 * Label and field selectors with the grammar of k8s.io/apimachinery/pkg/labels
 * and .../fields, so that list filtering matches what a cluster returns.
 *
 * @module
 */

import type { JsonObject } from "./patch.ts";
import { badRequest } from "./status.ts";

/** A compiled selector; `undefined` input matches everything. */
export type Matcher = (obj: JsonObject) => boolean;

type Requirement =
  | { op: "=" | "!="; key: string; value: string }
  | { op: "in" | "notin"; key: string; values: Set<string> }
  | { op: "exists" | "!"; key: string };

const keyPattern =
  /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const valuePattern = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

/** Splits on commas that are not inside `( ... )`. */
function splitTerms(selector: string): string[] {
  const terms: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < selector.length; i++) {
    const c = selector[i];
    if (c === "(") depth++;
    else if (c === ")") depth--;
    else if (c === "," && depth === 0) {
      terms.push(selector.slice(start, i));
      start = i + 1;
    }
  }
  terms.push(selector.slice(start));
  return terms.map((t) => t.trim()).filter((t) => t !== "");
}

function checkKey(key: string, selector: string): string {
  if (!keyPattern.test(key) || key.split("/").pop()!.length > 63) {
    throw badRequest(`unable to parse requirement: invalid label key "${key}" in "${selector}"`);
  }
  return key;
}

function checkValue(value: string, selector: string): string {
  if (value.length > 63 || !valuePattern.test(value)) {
    throw badRequest(
      `unable to parse requirement: invalid label value "${value}" in "${selector}"`,
    );
  }
  return value;
}

function parseRequirement(term: string, selector: string): Requirement {
  const set = /^(\S+)\s+(in|notin)\s*\((.*)\)$/.exec(term);
  if (set) {
    const values = set[3].split(",").map((v) => checkValue(v.trim(), selector));
    return {
      op: set[2] as "in" | "notin",
      key: checkKey(set[1], selector),
      values: new Set(values),
    };
  }
  const cmp = /^([^=!\s]+)\s*(==|!=|=)\s*(.*)$/.exec(term);
  if (cmp) {
    const op = cmp[2] === "!=" ? "!=" : "=";
    return { op, key: checkKey(cmp[1], selector), value: checkValue(cmp[3].trim(), selector) };
  }
  if (term.startsWith("!")) return { op: "!", key: checkKey(term.slice(1).trim(), selector) };
  return { op: "exists", key: checkKey(term, selector) };
}

function matches(r: Requirement, labels: Record<string, string>): boolean {
  const has = Object.hasOwn(labels, r.key);
  switch (r.op) {
    case "=":
      return has && labels[r.key] === r.value;
    case "!=":
      return !has || labels[r.key] !== r.value;
    case "in":
      return has && r.values.has(labels[r.key]);
    case "notin":
      return !has || !r.values.has(labels[r.key]);
    case "exists":
      return has;
    case "!":
      return !has;
  }
}

/** Compiles a `labelSelector` query value; throws a 400 ApiError when malformed. */
export function labelMatcher(selector: string | null | undefined): Matcher | undefined {
  if (!selector || selector.trim() === "") return undefined;
  const requirements = splitTerms(selector).map((t) => parseRequirement(t, selector));
  return (obj) => {
    const labels = obj.metadata?.labels ?? {};
    return requirements.every((r) => matches(r, labels));
  };
}

/** Compiles a `fieldSelector`; only `metadata.name` and `metadata.namespace` are indexed. */
export function fieldMatcher(selector: string | null | undefined): Matcher | undefined {
  if (!selector || selector.trim() === "") return undefined;
  const checks = splitTerms(selector).map((term) => {
    const m = /^([^=!\s]+)\s*(==|!=|=)\s*(.*)$/.exec(term);
    if (!m) throw badRequest(`invalid selector: '${selector}'; can't understand '${term}'`);
    const [, field, op, value] = m;
    if (field !== "metadata.name" && field !== "metadata.namespace") {
      throw badRequest(`field label not supported: ${field}`);
    }
    const key = field === "metadata.name" ? "name" : "namespace";
    const equal = op !== "!=";
    return (obj: JsonObject) => ((obj.metadata?.[key] ?? "") === value) === equal;
  });
  return (obj) => checks.every((check) => check(obj));
}

/** Combines optional matchers. */
export function allOf(...matchers: (Matcher | undefined)[]): Matcher | undefined {
  const present = matchers.filter((m): m is Matcher => m !== undefined);
  if (present.length === 0) return undefined;
  if (present.length === 1) return present[0];
  return (obj) => present.every((m) => m(obj));
}
