/**
 * Manifest templates: mustache tags are parsed once, when the topic index is built, and values
 * are later set on the parsed YAML tree instead of being pasted into YAML text. A value can
 * therefore never add a key, an item or a document, or end a quoted string early: the shape of
 * every rendered object is fixed by the template alone.
 * @module
 */

import { Composer, type CST, type Document, Lexer, parse as parseYaml, Parser } from "yaml";
import { setOwn } from "../lib/objects.ts";
import {
  formatBytes,
  formatCount,
  TEMPLATE_LIMITS,
  type TemplateLimits,
} from "./template_limits.ts";
import {
  type CompiledDocument,
  type CompiledTemplate,
  TemplateError,
  type TemplateNode,
  TemplateText,
} from "./template_node.ts";
import { pooledString } from "./string_pool.ts";
import { documentTree } from "./yaml_tree.ts";
import { cstDocumentTree } from "./yaml_cst_tree.ts";
import { MustacheSyntaxError, type MustacheToken, scanMustache } from "./mustache_tags.ts";

export {
  type CompiledDocument,
  type CompiledTemplate,
  type Part,
  TemplateError,
  type TemplateNode,
  type TemplateSize,
  TemplateText,
} from "./template_node.ts";
export {
  PUBLISH_VALUE_TEXT_LIMIT,
  TEMPLATE_LIMITS,
  type TemplateLimits,
} from "./template_limits.ts";

/** Values available to a render; a name with no value renders as an empty string. */
export type Values = Readonly<Record<string, string>>;

/**
 * Parses a manifest template (mustache tags inside YAML, one or more documents), or throws a
 * {@linkcode TemplateError} when it is not one or breaks `options.limits`.
 *
 * Compiled templates outlive the process in DATA_DIR (`template_codec.ts`): any change to what
 * this returns for a given text must come with a new `TEMPLATE_FORMAT`, so that files written
 * by an older router are compiled again instead of read.
 */
export function compileTemplate(source: string, options: CompileOptions = {}): CompiledTemplate {
  const limits = options.limits ?? TEMPLATE_LIMITS;
  const bytes = utf8Length(source, limits.maxBytes);
  if (bytes > limits.maxBytes) {
    throw new TemplateError(
      `the file is ${formatBytes(bytes)}, more than the ${formatBytes(limits.maxBytes)} a ` +
        `manifest template may be`,
    );
  }
  const lines = new LineIndex(source);
  const tokens = parseMustache(source, lines);
  const marker = uniqueMarker(source);
  const names: string[] = [];
  const offsets: OffsetMap = [];
  let text = "";
  for (const { type, value, start } of tokens) {
    offsets.push([text.length, start]);
    if (type === "text") text += value;
    else if (type === "name" || type === "&") {
      text += `${marker}${names.length}z`;
      names.push(pooledString(value));
    } else if (type === "!" || type === "=") continue;
    else {
      throw new TemplateError(
        `the mustache tag "{{${type}${value}}}" is not supported: templates take plain ` +
          `{{name}} values only, so that a value cannot change a manifest's structure`,
        { line: lines.lineAt(start) },
      );
    }
  }
  const lineOf = (offset: number) => lines.lineAt(sourceOffset(offsets, offset));
  const size = { nodes: 0, text: 0 };
  const documents = compileYaml(text, {
    marker,
    names,
    lineOf,
    limits,
    size,
    breathe: options.breathe,
    composeOnly: options.composeOnly,
  });
  return { documents, valueNames: [...new Set(names)], size };
}

/** Options for {@linkcode compileTemplate}. */
export interface CompileOptions {
  /** Default {@linkcode TEMPLATE_LIMITS}. */
  limits?: TemplateLimits;
  /**
   * Called every few hundred tokens while the YAML is read: the compile worker sleeps there
   * now and then, so that a long compile never holds a CPU the main thread is waiting for.
   */
  breathe?: () => void;
  /**
   * Compile every document through yaml's composer, never from the syntax tree directly: the
   * reference the direct path is tested against (`tests/render_property_test.ts`).
   */
  composeOnly?: boolean;
}

/** Renders every document of a compiled template into a plain object. */
export function renderTemplate(
  template: CompiledTemplate,
  values: Values,
  options: RenderOptions = {},
): unknown[] {
  const context = { values, stringNames: options.stringNames ?? NO_NAMES, budget: options.budget };
  return template.documents.map((doc) => renderNode(doc.root, context));
}

/**
 * What the renders of one publish may still add to their templates' own text: the characters of
 * the strings that values are set in. A template's own text is bounded when it is compiled, but
 * what values add is not: a `{{MESSAGE}}` written ten thousand times would render a megabyte
 * body ten thousand times over.
 */
export interface RenderBudget {
  /** The budget it started with, for messages. */
  readonly limit: number;
  /** What is left; below 0, the render has thrown. */
  remaining: number;
}

/** A budget of `limit` characters for the renders of one publish. */
export function renderBudget(limit: number): RenderBudget {
  return { limit, remaining: limit };
}

/** A render that would have gone over its {@linkcode RenderBudget}. */
export class RenderLimitError extends Error {
  /** The error's name. */
  override name = "RenderLimitError";
  /** The budget that was spent. */
  readonly limit: number;
  /** An error for a render over `options.limit` characters. */
  constructor(message: string, options: ErrorOptions & { limit: number }) {
    super(message, { cause: options.cause });
    this.limit = options.limit;
  }
}

/** Options for {@linkcode renderTemplate}. */
export interface RenderOptions {
  /**
   * Values that are strings by nature (a body's base64, a UUID): a plain scalar using one is
   * never typed, so a base64 text of digits stays a string.
   */
  stringNames?: ReadonlySet<string>;
  /** Spent by every string a value is set in; past it the render throws `RenderLimitError`. */
  budget?: RenderBudget;
}

const NO_NAMES: ReadonlySet<string> = new Set();

interface RenderContext {
  values: Values;
  stringNames: ReadonlySet<string>;
  budget?: RenderBudget;
}

function parseMustache(source: string, lines: LineIndex): MustacheToken[] {
  try {
    return scanMustache(source);
  } catch (error) {
    if (!(error instanceof MustacheSyntaxError)) throw error;
    throw new TemplateError(`mustache: ${error.message}`, {
      line: lines.lineAt(error.offset),
      cause: error,
    });
  }
}

/**
 * A letters-only marker the template does not contain, so placeholders cannot collide. It need
 * not be unpredictable: values are set on the parsed tree, never pasted into the text, so no
 * value can write a placeholder; `Math.random` is a tenth the cost of `crypto` here.
 */
function uniqueMarker(source: string): string {
  for (;;) {
    let marker = "gf";
    for (let i = 0; i < 10; i++) marker += String.fromCharCode(97 + Math.floor(Math.random() * 26));
    if (!source.includes(marker)) return marker;
  }
}

/** UTF-8 length of `text`, counted only as far as needed to know it is above `limit`. */
function utf8Length(text: string, limit: number): number {
  // Each UTF-16 unit is at least one byte: a text this long is over the limit already.
  if (text.length > limit) return text.length;
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x80) bytes += 1;
    else if (code < 0x800) bytes += 2;
    else if (code >= 0xd800 && code <= 0xdbff) {
      bytes += 4; // a surrogate pair: one four-byte character
      i++;
    } else bytes += 3;
  }
  return bytes;
}

/** Line numbers of offsets in a text, from where its lines start (one pass, then a search). */
class LineIndex {
  readonly #starts: number[] = [0];

  constructor(text: string) {
    for (let at = text.indexOf("\n"); at !== -1; at = text.indexOf("\n", at + 1)) {
      this.#starts.push(at + 1);
    }
  }

  /** The 1-based line of `offset`. */
  lineAt(offset: number): number {
    let lo = 0, hi = this.#starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.#starts[mid] <= offset) lo = mid;
      else hi = mid - 1;
    }
    return lo + 1;
  }
}

/** Pairs of (offset in the placeholder text, offset in the template) where each token starts. */
type OffsetMap = [number, number][];

function sourceOffset(offsets: OffsetMap, offset: number): number {
  let lo = 0, hi = offsets.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (offsets[mid][0] <= offset) lo = mid;
    else hi = mid - 1;
  }
  const [textStart, sourceStart] = offsets[lo] ?? [0, 0];
  return sourceStart + (offset - textStart);
}

interface YamlContext {
  marker: string;
  names: string[];
  /** The template line of an offset in the placeholder text. */
  lineOf: (offset: number) => number;
  limits: TemplateLimits;
  size: { nodes: number; text: number };
  breathe?: () => void;
  composeOnly?: boolean;
}

function compileYaml(text: string, context: YamlContext): CompiledDocument[] {
  const { lineOf, limits, size } = context;
  const compiled: CompiledDocument[] = [];
  let count = 0;
  const add = (root: TemplateNode, line: number) => {
    if (root === null) return; // only comments, or `---` alone
    if (typeof root !== "object" || Array.isArray(root) || root instanceof TemplateText) {
      throw new TemplateError(
        `document ${compiled.length + 1} is not a mapping: each document must be one ` +
          `Kubernetes object`,
        { line },
      );
    }
    compiled.push({ index: compiled.length, line, root });
  };
  const composed = (doc: Document.Parsed) => {
    if (++count > limits.maxDocuments) {
      throw new TemplateError(
        `the file holds more than ${formatCount(limits.maxDocuments)} YAML documents`,
        { line: lineOf(doc.range[0]) },
      );
    }
    add(compileDocument(doc, context), lineOf(doc.contents?.range?.[0] ?? doc.range[0]));
  };
  // Documents are read from the parser's syntax tree directly (`yaml_cst_tree.ts`) until one is
  // not of the kind that path compiles exactly; from that document on, yaml's composer reads
  // them. It is given the tokens from that document's on: those before it were whole documents,
  // blank lines and comments, which leave nothing in the composer that later documents see.
  let composer: Composer | undefined;
  /** The last document read directly and the tokens after it, with the state before it. */
  let pending: CST.Token[] = [];
  let before = { nodes: 0, text: 0, compiled: 0, count: 0 };
  const toComposer = () => {
    size.nodes = before.nodes;
    size.text = before.text;
    compiled.length = before.compiled;
    count = before.count;
    // YAML 1.1 merge keys (`<<: *base`) are honoured because the API server's own YAML reader
    // (go-yaml) honours them; everything else follows the YAML 1.2 core schema, whatever a
    // `%YAML` directive says. Duplicate keys are found by the tree builder, in one pass: the
    // parser's own check compares each key with every earlier one.
    composer = new Composer({ merge: true, uniqueKeys: false, schema: "core" });
    for (const token of pending) for (const doc of composer.next(token)) composed(doc);
    pending = [];
  };
  try {
    readTokens(text, context, (token) => {
      if (composer) {
        for (const doc of composer.next(token)) composed(doc);
        return;
      }
      if (token.type === "document") {
        before = { nodes: size.nodes, text: size.text, compiled: compiled.length, count };
        pending = [token];
        const root = context.composeOnly || ++count > limits.maxDocuments
          ? undefined
          : cstDocumentTree(token, context);
        if (root === undefined || (root !== null && !isMapping(root))) toComposer();
        else add(root, lineOf(token.value?.offset ?? token.offset));
      } else {
        pending.push(token);
        if (!SKIPPED.has(token.type)) toComposer();
      }
    });
    if (composer) { for (const doc of composer.end()) composed(doc); }
  } catch (error) {
    // Nesting deep enough to exhaust the parser's stack is a property of the file.
    if (error instanceof RangeError) {
      throw new TemplateError(`the YAML cannot be read: ${error.message}`, { cause: error });
    }
    // A message quoting the text (the parser's, a key's) says `{{name}}`, never a placeholder.
    if (error instanceof TemplateError && error.detail.includes(context.marker)) {
      throw new TemplateError(withTags(error.detail, context), { line: error.line, cause: error });
    }
    throw error;
  }
  if (compiled.length === 0) throw new TemplateError("the manifest holds no YAML document");
  return compiled.slice(); // exactly its length (see `placeholderParts` in yaml_tree.ts)
}

/** Tokens between documents that the composer keeps only as comments, if at all. */
const SKIPPED: ReadonlySet<string> = new Set(["newline", "space", "comment", "byte-order-mark"]);

function isMapping(root: TemplateNode): boolean {
  return typeof root === "object" && root !== null && !Array.isArray(root) &&
    !(root instanceof TemplateText);
}

/**
 * Hands the parser's tokens for `text` to `onToken` as they come (a generator of our own around
 * the parser's cost a step more per token), stopped as soon as the text is seen to hold more than the limits
 * allow. The parser keeps a document's whole syntax tree until the document ends, a few hundred
 * bytes per token and per open collection (what nested `[` cost: BENCHMARKS.md, "Adversarial
 * templates and the index build"): counting tokens and open collections as they come bounds that
 * memory, where checking the finished tree would only say it was too much.
 */
function readTokens(
  text: string,
  context: YamlContext,
  onToken: (token: CST.Token) => void,
): void {
  const { limits, lineOf } = context;
  const maxLexemes = limits.maxNodes * LEXEMES_PER_NODE;
  // The parser's stack holds the document and each open collection, and a little more.
  const maxOpen = limits.maxDepth * 2 + 8;
  const lexer = new Lexer();
  const parser = new Parser();
  let lexemes = 0;
  let offset = 0;
  for (const lexeme of lexer.lex(text)) {
    if (++lexemes > maxLexemes) {
      throw new TemplateError(
        `the template renders to more than ${formatCount(limits.maxNodes)} keys, items and ` +
          `values (it holds more YAML than that many can be written in)`,
        { line: lineOf(offset) },
      );
    }
    for (const token of parser.next(lexeme)) onToken(token);
    offset += lexeme.length;
    if (lexemes % 256 === 0) context.breathe?.();
    if (parser.stack.length > maxOpen) {
      throw new TemplateError(
        `mappings and sequences are nested more than ${limits.maxDepth} deep`,
        { line: lineOf(offset) },
      );
    }
  }
  for (const token of parser.end()) onToken(token);
}

/**
 * Lexical tokens the parser may read per node the limits allow: a key and its value on a line
 * of their own take six (indent, key, `:`, space, value, line break), three per node; a flow
 * item two; a comment line two.
 */
const LEXEMES_PER_NODE = 4;

function compileDocument(doc: Document.Parsed, context: YamlContext): TemplateNode {
  if (doc.errors.length > 0) {
    const error = doc.errors[0];
    throw new TemplateError(`invalid YAML: ${firstLine(error.message)}`, {
      line: context.lineOf(error.pos[0]),
    });
  }
  return documentTree(doc, context);
}

/** `text` with every placeholder of the context back as the `{{name}}` it stands for. */
function withTags(text: string, context: Pick<YamlContext, "marker" | "names">): string {
  const placeholder = new RegExp(`${context.marker}(\\d+)z`, "g");
  return text.replace(placeholder, (_, i) => `{{${context.names[Number(i)] ?? ""}}}`);
}

function firstLine(message: string): string {
  return message.split("\n")[0].replace(/ at line \d+, column \d+.*$/, "");
}

function renderNode(node: TemplateNode, context: RenderContext): unknown {
  if (typeof node !== "object" || node === null) return node;
  if (node instanceof TemplateText) return renderText(node, context);
  if (Array.isArray(node)) return node.map((item) => renderNode(item, context));
  const object: Record<string, unknown> = {};
  for (const key in node) setOwn(object, key, renderNode(node[key], context));
  return object;
}

function renderText(node: TemplateText, context: RenderContext): unknown {
  let text = "";
  let typed = node.plain;
  for (const part of node.parts) {
    if (typeof part === "string") text += part;
    else {
      // Own values only: a template naming `constructor` must not reach Object.prototype.
      text += Object.hasOwn(context.values, part.value) ? context.values[part.value] : "";
      if (context.stringNames.has(part.value)) typed = false;
    }
  }
  const budget = context.budget;
  if (budget && (budget.remaining -= text.length) < 0) {
    throw new RenderLimitError(
      `the objects of this publish would hold more than ${formatCount(budget.limit)} ` +
        `characters of text set from values: a value is too large for where the templates use it, ` +
        `or used too often`,
      { limit: budget.limit },
    );
  }
  return typed ? typePlainScalar(text) : text;
}

const MAYBE_TYPED = /^(?:[-+.0-9~]|null$|Null$|NULL$|true$|True$|TRUE$|false$|False$|FALSE$)/;
/**
 * A YAML 1.2 core-schema decimal integer short enough that `Number` reads it exactly as the YAML
 * parser does: the common case (`replicas: {{n}}`) skips a parser run on every publish.
 */
const SHORT_DECIMAL = /^[-+]?[0-9]{1,15}$/;

/**
 * Types a plain scalar's text the way YAML would had it been written in the template
 * (`2` → 2, `true` → true, empty → null), but only ever as a scalar: text that YAML would read
 * as a structure or a comment stays the exact string.
 */
function typePlainScalar(text: string): unknown {
  if (text === "") return null;
  if (!MAYBE_TYPED.test(text) || /[\n#:{}[\],&*!|>'"%@`]/.test(text)) return text;
  if (SHORT_DECIMAL.test(text)) return Number(text);
  try {
    const typed = parseYaml(text);
    return typed === null || typeof typed === "number" || typeof typed === "boolean" ? typed : text;
  } catch {
    return text;
  }
}
