/**
 * Compiled templates as a series of small JSON texts, rebuilt one text at a time: how the
 * compile worker hands a template to the main thread. Parsing and rebuilding a template at the
 * node limit in one go holds the main thread for tens of milliseconds (longer on a busy
 * machine); in chunks of a few thousand nodes, with a turn of the event loop between them,
 * requests are answered in between.
 *
 * The nodes are written in document order, each a token: a string, a finite number, a boolean
 * or null for a scalar; `{"o": n}` for a mapping of n keys, followed by n keys each followed by
 * its value; `{"a": n}` for a sequence of n items; `{"t": parts, "p": plain}` for a templated
 * text; `{"n": "NaN"|"Infinity"|"-Infinity"|"-0"}` for the numbers JSON cannot write.
 * @module
 */

import { setOwn } from "../lib/objects.ts";
import type { CompiledTemplate, Part, TemplateNode } from "./template_node.ts";
import { TemplateText } from "./template_node.ts";

/** A compiled template as chunks of JSON text, and what is not part of its trees. */
export interface StreamedTemplate {
  /** Each document's position and line; its root is in `chunks`. */
  documents: { index: number; line: number }[];
  /** As in the compiled template. */
  valueNames: string[];
  /** As in the compiled template. */
  size: CompiledTemplate["size"];
  /** JSON arrays of tokens; the documents' roots, one after the other. */
  chunks: string[];
}

/** Nodes per chunk: about a millisecond of parsing and rebuilding each. */
const CHUNK_TOKENS = 1024;

/** `template` as chunks. */
export function streamTemplate(template: CompiledTemplate): StreamedTemplate {
  const chunks: string[] = [];
  let tokens: unknown[] = [];
  const emit = (token: unknown) => {
    tokens.push(token);
    if (tokens.length >= CHUNK_TOKENS) {
      chunks.push(JSON.stringify(tokens));
      tokens = [];
    }
  };
  const write = (node: TemplateNode) => {
    if (typeof node === "number") {
      // JSON has no -0, NaN or Infinity.
      emit(
        Number.isFinite(node) && !Object.is(node, -0)
          ? node
          : { n: Object.is(node, -0) ? "-0" : String(node) },
      );
    } else if (typeof node !== "object" || node === null) emit(node);
    else if (node instanceof TemplateText) {
      emit({ t: node.parts.map((p) => typeof p === "string" ? p : [p.value]), p: node.plain });
    } else if (Array.isArray(node)) {
      emit({ a: node.length });
      for (const item of node) write(item);
    } else {
      const keys = Object.keys(node);
      emit({ o: keys.length });
      for (const key of keys) {
        emit(key);
        write(node[key]);
      }
    }
  };
  for (const doc of template.documents) write(doc.root);
  if (tokens.length > 0) chunks.push(JSON.stringify(tokens));
  return {
    documents: template.documents.map(({ index, line }) => ({ index, line })),
    valueNames: template.valueNames,
    size: template.size,
    chunks,
  };
}

/** A collection being rebuilt: how many values it still takes, and the key of the next one. */
interface Frame {
  node: TemplateNode[] | { [key: string]: TemplateNode };
  remaining: number;
  /** For a mapping: the next token is a key. */
  expectsKey: boolean;
  key?: string;
}

/**
 * The template `streamed` was made from. `pause` is awaited after each chunk (to let other work
 * in); throws a TypeError on anything `streamTemplate` does not write.
 */
export async function unstreamTemplate(
  streamed: StreamedTemplate,
  pause: () => Promise<void>,
): Promise<CompiledTemplate> {
  const roots: TemplateNode[] = [];
  const stack: Frame[] = [];
  for (const chunk of streamed.chunks) {
    const tokens = JSON.parse(chunk);
    if (!Array.isArray(tokens)) throw new TypeError("not a template chunk");
    for (const token of tokens) {
      const parent = stack.at(-1);
      if (parent?.expectsKey) {
        if (typeof token !== "string") throw new TypeError("a mapping key is not a string");
        parent.key = token;
        parent.expectsKey = false;
        continue;
      }
      const { node, children } = readToken(token);
      if (!parent) roots.push(node);
      else {
        if (Array.isArray(parent.node)) parent.node.push(node);
        else setOwn(parent.node, parent.key!, node);
        parent.remaining--;
        parent.expectsKey = !Array.isArray(parent.node) && parent.remaining > 0;
      }
      if (children > 0) {
        const collection = node as Frame["node"];
        stack.push({ node: collection, remaining: children, expectsKey: !Array.isArray(node) });
      }
      while (stack.length > 0 && stack.at(-1)!.remaining === 0) stack.pop();
    }
    await pause();
  }
  if (stack.length > 0 || roots.length !== streamed.documents.length) {
    throw new TypeError("a template stream ends early");
  }
  return {
    documents: streamed.documents.map(({ index, line }, i) => ({ index, line, root: roots[i] })),
    valueNames: streamed.valueNames,
    size: streamed.size,
  };
}

/** The node a token stands for, and how many values follow it as its children. */
function readToken(token: unknown): { node: TemplateNode; children: number } {
  if (typeof token !== "object" || token === null) {
    if (["string", "number", "boolean"].includes(typeof token) || token === null) {
      return { node: token as TemplateNode, children: 0 };
    }
    throw new TypeError("not a template token");
  }
  const tagged = token as Record<string, unknown>;
  if (isCount(tagged.o)) return { node: {}, children: tagged.o };
  if (isCount(tagged.a)) return { node: [], children: tagged.a };
  if (Array.isArray(tagged.t) && typeof tagged.p === "boolean") {
    return { node: new TemplateText(tagged.t.map(readPart), tagged.p), children: 0 };
  }
  if (["NaN", "Infinity", "-Infinity", "-0"].includes(tagged.n as string)) {
    return { node: Number(tagged.n), children: 0 };
  }
  throw new TypeError("not a template token");
}

function isCount(value: unknown): value is number {
  return Number.isSafeInteger(value) && (value as number) >= 0;
}

function readPart(part: unknown): Part {
  if (typeof part === "string") return part;
  if (Array.isArray(part) && part.length === 1 && typeof part[0] === "string") {
    return { value: part[0] };
  }
  throw new TypeError("not a template text part");
}
