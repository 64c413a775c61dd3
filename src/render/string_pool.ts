/**
 * One copy of the short strings and value parts that many compiled templates share (`batch/v1`,
 * an image, an env name, `{value: "MESSAGE"}`): a 10,000-manifest index otherwise holds
 * 10,000 copies of each, a fifth of its compiled templates' memory (BENCHMARKS.md, "What limits
 * the index build"). The pool is bounded: past its size it starts again empty, so a stream of
 * distinct strings never grows it, at worst costing a few copies more.
 * @module
 */

import type { Part } from "./template_node.ts";

/** Strings longer than this are not pooled (they are rarely repeated, and costly to hash). */
const MAX_LENGTH = 64;
/** Entries the pool holds before it starts again. */
const MAX_ENTRIES = 16_384;

const strings = new Map<string, string>();
const parts = new Map<string, Part>();

/** `text`, or an equal string met before. */
export function pooledString(text: string): string {
  if (text.length > MAX_LENGTH) return text;
  const known = strings.get(text);
  if (known !== undefined) return known;
  if (strings.size >= MAX_ENTRIES) strings.clear();
  strings.set(text, text);
  return text;
}

/** The part naming the value `name`, shared by every template using it (so frozen). */
export function valuePart(name: string): Part {
  const known = parts.get(name);
  if (known !== undefined) return known;
  if (parts.size >= MAX_ENTRIES) parts.clear();
  const part = Object.freeze({ value: pooledString(name) });
  parts.set(name, part);
  return part;
}
