/**
 * The common case of {@linkcode documentTree} without yaml's document model: a document's
 * syntax tree (yaml's CST) turned into a {@linkcode TemplateNode} tree directly, scalars typed by
 * the same core-schema tags the composer uses. Building and then converting yaml's `Document`
 * (a node object per key, value and pair, with ranges and comments) was about a third of a
 * template compile (BENCHMARKS.md, "What limits the index build").
 *
 * It takes only what it can compile exactly as the composer and `yaml_tree.ts` would: block
 * mappings and sequences, flow collections on one line, plain, quoted and block scalars,
 * comments. Anything else (anchors, aliases, tags, merge keys, flow collections over several
 * lines or with comments, explicit keys, tabs, a duplicate key,
 * a key using a value, a limit passed, anything the composer would report) gives `undefined`,
 * and the caller compiles that document through yaml's composer instead, which says what is
 * wrong with it. `tests/render_property_test.ts` compares the two on random documents.
 * @module
 */

import { CST, Document, isScalar, type Scalar } from "yaml";
import { setOwn } from "../lib/objects.ts";
import { pooledString } from "./string_pool.ts";
import { type TemplateNode, TemplateText } from "./template_node.ts";
import { placeholderParts, type TreeContext } from "./yaml_tree.ts";

/**
 * The tree of one CST document; null for a document with no content; undefined when the
 * document must go through the composer (see the module doc).
 */
export function cstDocumentTree(
  doc: CST.Document,
  context: TreeContext,
): TemplateNode | undefined {
  const props = resolveProps(doc.start, "doc-start", true);
  if (!props) return undefined;
  const value = doc.value;
  if (
    props.found && value && (value.type === "block-map" || value.type === "block-seq") &&
    !props.hasNewline
  ) return undefined;
  if (!endIsClean(doc.end, false)) return undefined;
  try {
    const builder = new CstTreeBuilder(context);
    // No content is an empty plain scalar, null, counted as a node as the composer's is.
    return value ? builder.node(value, false) : builder.empty();
  } catch (error) {
    if (error === CANNOT) return undefined;
    throw error;
  }
}

/** Thrown inside the builder when the document must go through the composer. */
const CANNOT = Symbol("compile this document through the composer");

/** The core schema as the composer uses it (with YAML 1.1 merge keys, as `template.ts` asks). */
const COMPOSER_DOCUMENT = new Document(null, { merge: true, schema: "core", uniqueKeys: false });
const SCHEMA = COMPOSER_DOCUMENT.schema;
type ScalarTag = {
  default?: boolean | "key";
  test?: RegExp;
  resolve: (value: string, onError: (message: string) => void, options: unknown) => unknown;
};
const TAGS = SCHEMA.tags as unknown as ScalarTag[];
/** The options the composer hands a tag's `resolve`. */
const TAG_OPTIONS = COMPOSER_DOCUMENT.options;
/**
 * First characters of plain scalars that some core-schema tag other than `str` may match
 * (null, bool, int, float, and `<<` for a key): any other plain scalar is a string.
 */
const MAY_BE_TYPED = new Set([..."-+.0123456789~nNtTfF<"]);

class CstTreeBuilder {
  readonly #context: TreeContext;
  #depth = 0;

  constructor(context: TreeContext) {
    this.#context = context;
  }

  node(token: CST.Token, atKey: boolean): TemplateNode {
    switch (token.type) {
      case "block-map":
        return this.#collection(() => this.#map(token));
      case "block-seq":
        return this.#collection(() => this.#seq(token));
      case "flow-collection":
        return this.#collection(() => this.#flow(token));
      case "scalar":
      case "single-quoted-scalar":
      case "double-quoted-scalar":
      case "block-scalar":
        return this.#scalar(token, atKey);
      default:
        throw CANNOT;
    }
  }

  #collection(build: () => TemplateNode): TemplateNode {
    if (++this.#depth > this.#context.limits.maxDepth) throw CANNOT;
    this.#count(1, 0);
    const built = build();
    this.#depth--;
    return built;
  }

  #map(map: CST.BlockMap): { [key: string]: TemplateNode } {
    const object: { [key: string]: TemplateNode } = {};
    const written = new Set<string>();
    const items = map.items;
    for (let i = 0; i < items.length; i++) {
      const { start, key, sep, value } = items[i];
      const keyProps = resolveProps(start, "explicit-key-ind", true);
      if (!keyProps || keyProps.found) throw CANNOT;
      if (!sep) {
        // Comments alone, which the composer keeps only as comments; anywhere but last, it may
        // report them ("Map comment with trailing content").
        if (key || value || i !== items.length - 1) throw CANNOT;
        continue;
      }
      if (!key || !isFlowScalar(key) || key.indent !== map.indent || containsNewline(key)) {
        throw CANNOT;
      }
      const valueProps = resolveProps(sep, "map-value-ind", false);
      if (!valueProps?.found) throw CANNOT;
      if (value?.type === "block-map" && !valueProps.hasNewline) throw CANNOT;
      // The composer's 1,024-character bound on an implicit key (with room to spare).
      if (valueProps.found.offset - key.offset > 1000) throw CANNOT;
      const name = this.#key(key);
      if (written.has(name)) throw CANNOT;
      written.add(name);
      this.#count(1, name.length);
      setOwn(object, name, value ? this.node(value, false) : this.empty());
    }
    return object;
  }

  #seq(seq: CST.BlockSequence): TemplateNode[] {
    const list: TemplateNode[] = [];
    for (const { start, value } of seq.items) {
      const props = resolveProps(start, "seq-item-ind", true);
      if (!props) throw CANNOT;
      if (!props.found) {
        if (value) throw CANNOT;
        continue; // comments alone
      }
      list.push(value ? this.node(value, false) : this.empty());
    }
    return list.slice(); // exactly its length, as `placeholderParts` explains
  }

  /**
   * A flow collection on one line (`[a, "b"]`, `{k: v}`, `[]`): items separated by exactly one
   * comma, spaces, no comments, line breaks, empty items or pairs in a sequence.
   */
  #flow(flow: CST.FlowCollection): TemplateNode {
    const isMap = flow.start.source === "{";
    const [close, ...after] = flow.end;
    if (close?.source !== (isMap ? "}" : "]") || !endIsClean(after, true)) throw CANNOT;
    const object: { [key: string]: TemplateNode } = {};
    const written = new Set<string>();
    const list: TemplateNode[] = [];
    flow.items.forEach(({ start, key, sep, value }, i) => {
      if (!flowSeparator(start, i > 0)) throw CANNOT;
      if (!value || !isFlowValue(value)) throw CANNOT;
      if (!isMap) {
        if (key !== undefined || sep !== undefined) throw CANNOT; // a pair in a sequence
        list.push(this.node(value, false));
        return;
      }
      if (!key || !isFlowScalar(key) || containsNewline(key) || !sep) throw CANNOT;
      const valueProps = resolveProps(sep, "map-value-ind", false);
      if (!valueProps?.found || valueProps.hasNewline) throw CANNOT;
      const name = this.#key(key);
      if (written.has(name)) throw CANNOT;
      written.add(name);
      this.#count(1, name.length);
      setOwn(object, name, this.node(value, false));
    });
    return isMap ? object : list.slice();
  }

  /** An empty node (`key:` with nothing after it): a null scalar, counted as one. */
  empty(): null {
    this.#count(1, 0);
    return null;
  }

  #key(token: CST.FlowScalar): string {
    const value = this.#scalarValue(token, true).value;
    if (value === "<<") throw CANNOT; // a merge key
    const text = value === null ? "" : String(value);
    if (text.includes(this.#context.marker)) throw CANNOT;
    return text;
  }

  #scalar(token: CST.FlowScalar | CST.BlockScalar, atKey: boolean): TemplateNode {
    const { value, type } = this.#scalarValue(token, atKey);
    const templated = typeof value === "string" && value.includes(this.#context.marker);
    if (typeof value !== "string") {
      this.#count(1, 0);
      return value;
    }
    if (!templated) {
      this.#count(1, value.length);
      return pooledString(value);
    }
    const { marker, names } = this.#context;
    const parts = placeholderParts(value, marker, names);
    let literal = 0;
    for (const part of parts) if (typeof part === "string") literal += part.length;
    this.#count(1, literal);
    return new TemplateText(parts, type === "PLAIN");
  }

  /** The scalar's value and style, typed as the composer types it; only values a tree holds. */
  #scalarValue(
    token: CST.FlowScalar | CST.BlockScalar,
    atKey: boolean,
  ): { value: string | number | boolean | null; type: Scalar.Type } {
    let failed = false;
    const resolved = resolveScalar(token, () => failed = true);
    if (failed || !resolved) throw CANNOT;
    const { value, type } = resolved;
    if (token.type !== "scalar" || (value !== "" && !MAY_BE_TYPED.has(value[0]))) {
      return { value, type: type ?? "PLAIN" };
    }
    const tag = TAGS.find((t) =>
      (t.default === true || (atKey && t.default === "key")) && t.test?.test(value)
    );
    if (!tag) return { value, type: type ?? "PLAIN" };
    const typed = tag.resolve(value, () => failed = true, TAG_OPTIONS);
    if (failed) throw CANNOT;
    const result = isScalar(typed) ? typed.value : typed;
    if (
      result === null || typeof result === "string" || typeof result === "number" ||
      typeof result === "boolean"
    ) return { value: result, type: type ?? "PLAIN" };
    throw CANNOT; // a merge key's symbol, or a value a Kubernetes object cannot hold
  }

  #count(nodes: number, text: number): void {
    const { size, limits } = this.#context;
    size.nodes += nodes;
    size.text += text;
    if (size.nodes > limits.maxNodes || size.text > limits.maxText) throw CANNOT;
  }
}

/** yaml's own scalar reading (quotes, escapes, folding, block scalar headers), strict. */
function resolveScalar(
  token: CST.FlowScalar | CST.BlockScalar,
  onError: () => void,
): { value: string; type: Scalar.Type | null } | null {
  return CST.resolveAsScalar(token, true, onError);
}

function isFlowScalar(token: CST.Token): token is CST.FlowScalar {
  return token.type === "scalar" || token.type === "single-quoted-scalar" ||
    token.type === "double-quoted-scalar";
}

/** A value inside a flow collection: a one-line scalar, or a flow collection. */
function isFlowValue(token: CST.Token): boolean {
  return token.type === "flow-collection" || (isFlowScalar(token) && !containsNewline(token));
}

/**
 * Whether an item's leading tokens are spaces around exactly one comma (none before the first
 * item), as yaml's `resolveProps` in a flow collection takes them without a word.
 */
function flowSeparator(tokens: readonly CST.SourceToken[], comma: boolean): boolean {
  let commas = 0;
  for (const token of tokens) {
    if (token.type === "comma") commas++;
    else if (token.type !== "space" || token.source.includes("\t")) return false;
  }
  return commas === (comma ? 1 : 0);
}

/** The composer's test for a key spanning lines (`util-contains-newline.js`, scalars only). */
function containsNewline(key: CST.FlowScalar): boolean {
  if (key.source.includes("\n")) return true;
  for (const token of key.end ?? []) if (token.type === "newline") return true;
  return false;
}

/**
 * yaml's `resolveProps` for tokens holding only spaces (no tabs), line breaks, comments and at
 * most one `indicator`: where the indicator is and whether a line break came; undefined when
 * the tokens hold anything else or the composer would report something.
 */
function resolveProps(
  tokens: readonly CST.SourceToken[],
  indicator: CST.SourceToken["type"],
  startOnNewline: boolean,
): { found: CST.SourceToken | null; hasNewline: boolean } | undefined {
  let hasSpace = startOnNewline;
  let hasNewline = false;
  let found: CST.SourceToken | null = null;
  for (const token of tokens) {
    switch (token.type) {
      case "space":
        if (token.source.includes("\t")) return undefined;
        hasSpace = true;
        break;
      case "comment":
        if (!hasSpace) return undefined;
        break;
      case "newline":
        hasNewline = true;
        hasSpace = true;
        break;
      case indicator:
        if (found) return undefined;
        found = token;
        hasSpace = false;
        break;
      default:
        return undefined;
    }
  }
  return { found, hasNewline };
}

/** yaml's `resolveEnd` reports nothing for these tokens. */
function endIsClean(tokens: readonly CST.SourceToken[] | undefined, reqSpace: boolean): boolean {
  let hasSpace = false;
  for (const token of tokens ?? []) {
    if (token.type === "space" || token.type === "newline") hasSpace = true;
    else if (token.type !== "comment" || (reqSpace && !hasSpace)) return false;
  }
  return true;
}
