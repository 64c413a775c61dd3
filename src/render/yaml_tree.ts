/**
 * Turns one parsed YAML document into a {@linkcode TemplateNode} tree, in one pass that counts
 * what it builds. Aliases and merge keys are expanded here, node by node, so a file of a few
 * kilobytes that expands to gigabytes is stopped once it passes the limits, having built no more
 * than the limits allow. Only what a Kubernetes object is made of gets through: mappings with
 * scalar keys, sequences, strings, numbers, booleans and null; a tag outside the YAML core
 * schema is refused rather than turned into an object nobody wrote.
 * @module
 */

import {
  type Alias,
  type Document,
  isAlias,
  isMap,
  isPair,
  isScalar,
  isSeq,
  type Node,
  type Pair,
  type Scalar,
  type YAMLMap,
  type YAMLSeq,
} from "yaml";
import { setOwn } from "../lib/objects.ts";
import { pooledString, valuePart } from "./string_pool.ts";
import { formatCount, type TemplateLimits } from "./template_limits.ts";
import {
  type Part,
  TemplateError,
  type TemplateNode,
  type TemplateSize,
  TemplateText,
} from "./template_node.ts";

/** What {@linkcode documentTree} needs to know about the template. */
export interface TreeContext {
  /** The placeholder prefix: `<marker><n>z` stands for the value `names[n]`. */
  marker: string;
  /** The value name of each placeholder, by number. */
  names: readonly string[];
  /** The template line of an offset in the parsed (placeholder) text. */
  lineOf: (offset: number) => number;
  /** What the template may render to. */
  limits: TemplateLimits;
  /** Running totals for the whole file, added to by every document. */
  size: TemplateSize;
}

const CORE = "tag:yaml.org,2002:";
/** The YAML 1.2 core schema's scalar tags, and the JS type each resolves to. */
const SCALAR_TAGS: ReadonlyMap<string, string> = new Map([
  [`${CORE}str`, "string"],
  [`${CORE}int`, "number"],
  [`${CORE}float`, "number"],
  [`${CORE}bool`, "boolean"],
  [`${CORE}null`, "null"],
]);
const ALLOWED_TAGS = "!!str, !!int, !!float, !!bool, !!null, !!map and !!seq";

/**
 * The tree of `doc`'s contents, or null for a document with none (a lone `---`, comments only,
 * or `~`).
 */
export function documentTree(doc: Document.Parsed, context: TreeContext): TemplateNode {
  if (doc.contents === null) return null;
  return new TreeBuilder(context).build(doc.contents);
}

class TreeBuilder {
  readonly #context: TreeContext;
  /** Anchors seen so far in document order (the last of a name wins, as YAML says). */
  readonly #anchors = new Map<string, Node>();
  /** Collections being built, to refuse an alias to a node that contains it. */
  readonly #open = new Set<Node>();
  #depth = 0;

  constructor(context: TreeContext) {
    this.#context = context;
  }

  build(root: Node): TemplateNode {
    return this.#node(root, false);
  }

  /**
   * `node` as a tree. `expanding`: reached through an alias, so its anchors were already
   * seen where it was written and must not be recorded again (a later anchor of the same name
   * would otherwise be shadowed).
   */
  #node(node: Node, expanding: boolean): TemplateNode {
    if (isAlias(node)) return this.#node(this.#resolve(node), true);
    if (!expanding && node.anchor) this.#anchors.set(node.anchor, node);
    if (isScalar(node)) return this.#scalar(node);
    if (isMap(node)) return this.#collection(node, () => this.#map(node, expanding));
    if (isSeq(node)) {
      return this.#collection(node, () => node.items.map((item) => this.#item(item, expanding)));
    }
    throw this.#error("this YAML node is not supported", node);
  }

  #item(item: unknown, expanding: boolean): TemplateNode {
    // A sequence's items are nodes; the parser gives a Pair only for odd input.
    if (isPair(item)) throw this.#error("a key-value pair is not supported here", item.key as Node);
    return this.#node(item as Node, expanding);
  }

  #collection(node: YAMLMap | YAMLSeq, build: () => TemplateNode): TemplateNode {
    const tag = node.tag;
    const expected = isMap(node) ? `${CORE}map` : `${CORE}seq`;
    if (tag !== undefined && tag !== expected) throw this.#tagError(tag, node);
    if (this.#open.has(node)) {
      throw this.#error("an alias refers to a mapping or sequence that contains it", node);
    }
    if (++this.#depth > this.#context.limits.maxDepth) {
      throw this.#error(
        `mappings and sequences are nested more than ${this.#context.limits.maxDepth} deep`,
        node,
      );
    }
    this.#count(1, 0, node);
    this.#open.add(node);
    try {
      return build();
    } finally {
      this.#open.delete(node);
      this.#depth--;
    }
  }

  #map(node: YAMLMap, expanding: boolean): { [key: string]: TemplateNode } {
    const object: { [key: string]: TemplateNode } = {};
    /** Keys written in this mapping: a merged key may be replaced, a written one not. */
    const written = new Set<string>();
    for (const pair of node.items as Pair<unknown, unknown>[]) {
      if (isMergeKey(pair.key)) {
        this.#merge(object, pair.value, expanding);
        continue;
      }
      const key = this.#key(pair.key, expanding);
      if (written.has(key)) {
        throw this.#error(
          `invalid YAML: the key "${key}" appears twice in one mapping`,
          pair.key as Node,
        );
      }
      written.add(key);
      this.#count(1, key.length, pair.key as Node);
      const value = pair.value === null || pair.value === undefined
        ? null
        : this.#node(pair.value as Node, expanding);
      setOwn(object, key, value);
    }
    return object;
  }

  /** `<<: *base` or `<<: [*a, *b]`: keys of the sources not already in `object`, first wins. */
  #merge(object: { [key: string]: TemplateNode }, value: unknown, expanding: boolean): void {
    let source = value as Node | null;
    let through = expanding;
    if (source && isAlias(source)) [source, through] = [this.#resolve(source), true];
    const sources = source && isSeq(source) ? source.items : [source];
    for (let item of sources as (Node | null)[]) {
      let viaAlias = through;
      if (item && isAlias(item)) [item, viaAlias] = [this.#resolve(item), true];
      if (!item || !isMap(item)) {
        throw this.#error(
          "a merge key (<<) takes a mapping, an alias of one, or a list of them",
          (item ?? source ?? undefined) as Node | undefined,
        );
      }
      const merged = this.#node(item, viaAlias) as { [key: string]: TemplateNode };
      for (const key of Object.keys(merged)) {
        if (!Object.hasOwn(object, key)) setOwn(object, key, merged[key]);
      }
    }
  }

  #key(key: unknown, expanding: boolean): string {
    let node = key as Node | null;
    if (node && isAlias(node)) node = this.#resolve(node);
    else if (node && !expanding && node.anchor) this.#anchors.set(node.anchor, node);
    if (node === null || node === undefined) return ""; // `? ` with no key: yaml's ""
    if (!isScalar(node)) {
      throw this.#error(
        "a mapping key must be a string, a number or a boolean, not a mapping or a sequence",
        node,
      );
    }
    const value = this.#scalarValue(node);
    const text = value === null ? "" : String(value);
    if (text.includes(this.#context.marker)) {
      throw this.#error(
        "a mapping key cannot contain a {{value}}: values set data, never structure",
        node,
      );
    }
    return text;
  }

  #scalar(node: Scalar): TemplateNode {
    const templated = typeof node.value === "string" && node.value.includes(this.#context.marker);
    if (templated && node.tag !== undefined && node.tag !== `${CORE}str`) {
      throw this.#error(
        `a {{value}} cannot sit in a scalar with the explicit tag ${shortTag(node.tag)}`,
        node,
      );
    }
    const value = this.#scalarValue(node);
    if (typeof value !== "string" || !templated) {
      this.#count(1, typeof value === "string" ? value.length : 0, node);
      return value;
    }
    const parts = this.#parts(value);
    let literal = 0;
    for (const part of parts) if (typeof part === "string") literal += part.length;
    this.#count(1, literal, node);
    // Plain scalars are typed from their rendered text (`replicas: {{n}}` gives a number);
    // quoted and block scalars always stay strings.
    return new TemplateText(parts, node.type === "PLAIN" && node.tag === undefined);
  }

  /** The scalar's value, when it is one a Kubernetes object can hold. */
  #scalarValue(node: Scalar): string | number | boolean | null {
    const value = node.value;
    const type = value === null ? "null" : typeof value;
    if (node.tag !== undefined) {
      const expected = SCALAR_TAGS.get(node.tag);
      if (expected === undefined) throw this.#tagError(node.tag, node);
      if (expected !== type) {
        throw this.#error(
          `"${this.#unmark(String(node.source ?? value))}" is not a valid ` +
            `${shortTag(node.tag)} value`,
          node,
        );
      }
    }
    if (type === "string" || type === "number" || type === "boolean" || type === "null") {
      return value as string | number | boolean | null;
    }
    throw this.#error("this value is not a string, a number, a boolean or null", node);
  }

  /** Splits text at its placeholders (`<marker><n>z`). */
  #parts(text: string): Part[] {
    return placeholderParts(text, this.#context.marker, this.#context.names);
  }

  #resolve(alias: Alias): Node {
    const target = this.#anchors.get(alias.source);
    if (!target) {
      throw this.#error(
        `the alias *${this.#unmark(alias.source)} has no anchor &${
          this.#unmark(alias.source)
        } before it`,
        alias,
      );
    }
    return target;
  }

  #count(nodes: number, text: number, at: Node | undefined): void {
    const { size, limits } = this.#context;
    size.nodes += nodes;
    size.text += text;
    if (size.nodes > limits.maxNodes) {
      throw this.#error(
        `the template renders to more than ${formatCount(limits.maxNodes)} keys, items and ` +
          `values (aliases and merge keys expanded)`,
        at,
      );
    }
    if (size.text > limits.maxText) {
      throw this.#error(
        `the template renders to more than ${formatCount(limits.maxText)} characters of keys ` +
          `and text (aliases and merge keys expanded)`,
        at,
      );
    }
  }

  #tagError(tag: string, node: Node): TemplateError {
    return this.#error(
      `the tag ${shortTag(this.#unmark(tag))} is not supported: Kubernetes objects take ` +
        `${ALLOWED_TAGS} only`,
      node,
    );
  }

  #error(message: string, node: Node | undefined): TemplateError {
    const offset = node?.range?.[0];
    return new TemplateError(message, {
      line: offset === undefined ? undefined : this.#context.lineOf(offset),
    });
  }

  /** `text` with each placeholder written back as the `{{name}}` it stands for. */
  #unmark(text: string): string {
    const { marker, names } = this.#context;
    return text.replace(new RegExp(`${marker}(\\d+)z`, "g"), (_, n) => `{{${names[Number(n)]}}}`);
  }
}

/** Splits `text` at its placeholders (`<marker><n>z`, standing for the value `names[n]`). */
export function placeholderParts(text: string, marker: string, names: readonly string[]): Part[] {
  const parts: Part[] = [];
  let last = 0;
  for (let at = text.indexOf(marker); at !== -1; at = text.indexOf(marker, last)) {
    if (at > last) parts.push(pooledString(text.slice(last, at)));
    const end = text.indexOf("z", at + marker.length);
    parts.push(valuePart(names[Number(text.slice(at + marker.length, end))]));
    last = end + 1;
  }
  if (last < text.length) parts.push(pooledString(text.slice(last)));
  // An array grown by push keeps room for 16 more items: 150 bytes per array, a third of what
  // 10,000 compiled templates held. A copy is exactly its length.
  return parts.slice();
}

/** `<<` written as a plain key, which the parser reads as a merge key. */
function isMergeKey(key: unknown): boolean {
  if (!isScalar(key)) return false;
  const value = key.value;
  return typeof value === "symbol"
    ? value.description === "<<"
    : value === "<<" && key.type === "PLAIN" && key.tag === undefined;
}

function shortTag(tag: string): string {
  return tag.startsWith(CORE) ? `!!${tag.slice(CORE.length)}` : tag;
}
