/**
 * Compiled templates as JSON, so a restart can take them from disk instead of parsing every
 * manifest again. Every node is tagged by the one key of its wrapper object (`o` mapping,
 * `a` sequence, `t` templated text, `n` a number JSON cannot write), so no mapping of a
 * template can be read back as anything but a mapping.
 * @module
 */

import {
  type CompiledTemplate,
  type Part,
  type TemplateNode,
  type TemplateSize,
  TemplateText,
} from "./template_node.ts";
import { isRecord, setOwn } from "../lib/objects.ts";

/**
 * Changes whenever compiled templates or their JSON change shape; a file written under another
 * format is not read.
 */
export const TEMPLATE_FORMAT = "gitfaas-compiled-template/2";

/** A compiled template as plain JSON data. */
export type EncodedTemplate = {
  documents: { index: number; line: number; root: unknown }[];
  valueNames: string[];
  size: TemplateSize;
};

/** The JSON form of `template`. */
export function encodeTemplate(template: CompiledTemplate): EncodedTemplate {
  return {
    documents: template.documents.map((doc) => ({
      index: doc.index,
      line: doc.line,
      root: encodeNode(doc.root),
    })),
    valueNames: template.valueNames,
    size: { nodes: template.size.nodes, text: template.size.text },
  };
}

/** The template `encoded` was made from; throws a TypeError on anything else. */
export function decodeTemplate(encoded: unknown): CompiledTemplate {
  const value = encoded as EncodedTemplate;
  if (
    !isRecord(value) || !Array.isArray(value.documents) || !Array.isArray(value.valueNames) ||
    !value.valueNames.every((name) => typeof name === "string") || !isRecord(value.size) ||
    !isCount(value.size.nodes) || !isCount(value.size.text)
  ) throw new TypeError("not an encoded template");
  return {
    documents: value.documents.map((doc) => {
      if (!isRecord(doc) || !Number.isInteger(doc.index) || !Number.isInteger(doc.line)) {
        throw new TypeError("not an encoded document");
      }
      return { index: doc.index, line: doc.line, root: decodeNode(doc.root) };
    }),
    valueNames: value.valueNames,
    size: { nodes: value.size.nodes, text: value.size.text },
  };
}

function encodeNode(node: TemplateNode): unknown {
  if (typeof node === "number") {
    // JSON has no NaN, Infinity or -0 (JSON.stringify writes -0 as 0).
    if (Object.is(node, -0)) return { n: "-0" };
    return Number.isFinite(node) ? node : { n: String(node) };
  }
  if (typeof node !== "object" || node === null) return node;
  if (node instanceof TemplateText) {
    return {
      t: node.parts.map((part) => typeof part === "string" ? part : [part.value]),
      p: node.plain,
    };
  }
  if (Array.isArray(node)) return { a: node.map(encodeNode) };
  const object: Record<string, unknown> = {};
  for (const key in node) setOwn(object, key, encodeNode(node[key]));
  return { o: object };
}

function decodeNode(encoded: unknown): TemplateNode {
  if (typeof encoded !== "object" || encoded === null) {
    if (typeof encoded === "string" || typeof encoded === "number") return encoded;
    if (typeof encoded === "boolean" || encoded === null) return encoded;
    throw new TypeError("not an encoded node");
  }
  const tagged = encoded as Record<string, unknown>;
  if (isRecord(tagged.o)) {
    const object: { [key: string]: TemplateNode } = {};
    for (const key in tagged.o) setOwn(object, key, decodeNode(tagged.o[key]));
    return object;
  }
  if (Array.isArray(tagged.a)) return tagged.a.map(decodeNode);
  if (Array.isArray(tagged.t) && typeof tagged.p === "boolean") {
    return new TemplateText(tagged.t.map(decodePart), tagged.p);
  }
  if (["NaN", "Infinity", "-Infinity", "-0"].includes(tagged.n as string)) {
    return Number(tagged.n);
  }
  throw new TypeError("not an encoded node");
}

function decodePart(part: unknown): Part {
  if (typeof part === "string") return part;
  if (Array.isArray(part) && part.length === 1 && typeof part[0] === "string") {
    return { value: part[0] };
  }
  throw new TypeError("not an encoded text part");
}

function isCount(value: unknown): value is number {
  return Number.isSafeInteger(value) && (value as number) >= 0;
}
