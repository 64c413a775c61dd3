/**
 * Manifest templates: mustache tags are parsed once, when the topic index is built, and values
 * are later set on the parsed YAML tree instead of being pasted into YAML text. A value can
 * therefore never add a key, an item or a document, or end a quoted string early: the shape of
 * every rendered object is fixed by the template alone.
 * @module
 */

import process from "node:process";
import Mustache from "mustache";
import { setOwn } from "../lib/objects.ts";
import { isScalar, parse as parseYaml, parseAllDocuments, visit } from "yaml";

/**
 * `yaml` looks up the debug switches LOG_TOKENS and LOG_STREAM in `process.env` for every token
 * and document it parses. Under Deno each lookup is a call into the runtime (a refused one under
 * the start task's `--ignore-env`): a quarter to a third of a template compile. The router never
 * lets those two names through, so they read as unset here without the call; every other name
 * reads as before.
 */
function silenceYamlDebugSwitches(): void {
  const env = process.env;
  if (Reflect.get(env, SILENCED)) return;
  // The target is an empty object, not `env` itself: V8 checks every trap's answer against the
  // target's own property, and on Deno's env that check is the very runtime call avoided here.
  process.env = new Proxy({} as NodeJS.ProcessEnv, {
    get: (_, key) =>
      key === SILENCED ? true : YAML_DEBUG_SWITCHES.has(key) ? undefined : Reflect.get(env, key),
    set: (_, key, value) => Reflect.set(env, key, value),
    has: (_, key) => Reflect.has(env, key),
    deleteProperty: (_, key) => Reflect.deleteProperty(env, key),
    ownKeys: () => Reflect.ownKeys(env),
    getOwnPropertyDescriptor: (_, key) => {
      const descriptor = Reflect.getOwnPropertyDescriptor(env, key);
      return descriptor && { ...descriptor, configurable: true };
    },
    defineProperty: (_, key, descriptor) => Reflect.defineProperty(env, key, descriptor),
  });
}
const SILENCED = Symbol.for("gitfaas.yamlDebugSwitchesSilenced");
const YAML_DEBUG_SWITCHES: ReadonlySet<string | symbol> = new Set(["LOG_TOKENS", "LOG_STREAM"]);
silenceYamlDebugSwitches();

/** A template problem found at index build, with the 1-based line where it is. */
export class TemplateError extends Error {
  override name = "TemplateError";
  /** Builds an error for `line` (1-based) of the template. */
  constructor(message: string, readonly line?: number) {
    super(line ? `line ${line}: ${message}` : message);
  }
}

/** A piece of a templated string: literal text, or the name of a value. */
export type Part = string | { value: string };

/** A string of a template that uses values: literal text and value names, in order. */
export class TemplateText {
  /** `plain`: an unquoted scalar, typed from its rendered text (`{{replicas}}` → 2). */
  constructor(readonly parts: readonly Part[], readonly plain: boolean) {}
}

/**
 * The compiled shape of one YAML node: the parsed value itself, in which every string that uses
 * a value is a {@linkcode TemplateText}. Plain objects and arrays, rather than a node per value,
 * keep a compiled template about as small as its parsed object (a 10,000-manifest index is
 * mostly these), and a render copies them.
 */
export type TemplateNode =
  | TemplateText
  | string
  | number
  | boolean
  | null
  | TemplateNode[]
  | { [key: string]: TemplateNode };

/** One compiled YAML document of a manifest file. */
export interface CompiledDocument {
  /** Position of the document in its file, from 0. */
  index: number;
  /** First line of the document in the template file. */
  line: number;
  root: TemplateNode;
}

/** A parsed manifest template, ready to render many times. */
export interface CompiledTemplate {
  documents: CompiledDocument[];
  /** Every value name the template uses, in order of first use. */
  valueNames: string[];
}

/** Values available to a render; a name with no value renders as an empty string. */
export type Values = Readonly<Record<string, string>>;

/**
 * Parses a manifest template (mustache tags inside YAML, one or more documents).
 *
 * Compiled templates outlive the process in DATA_DIR (`template_codec.ts`): any change to what
 * this returns for a given text must come with a new `TEMPLATE_FORMAT`, so that files written
 * by an older router are compiled again instead of read.
 */
export function compileTemplate(source: string): CompiledTemplate {
  const tokens = parseMustache(source);
  const marker = uniqueMarker(source);
  const names: string[] = [];
  const offsets: OffsetMap = [];
  let text = "";
  for (const token of tokens) {
    const [type, value, start] = token;
    offsets.push([text.length, start]);
    if (type === "text") text += value;
    else if (type === "name" || type === "&") {
      text += `${marker}${names.length}z`;
      names.push(value);
    } else if (type === "!" || type === "=") continue;
    else {
      throw new TemplateError(
        `the mustache tag "{{${type}${value}}}" is not supported: templates take plain ` +
          `{{name}} values only, so that a value cannot change a manifest's structure`,
        lineAt(source, start),
      );
    }
  }
  const lineOf = (offset: number) => lineAt(source, sourceOffset(offsets, offset));
  const documents = compileYaml(text, { marker, names, lineOf });
  return { documents, valueNames: [...new Set(names)] };
}

/** Renders every document of a compiled template into a plain object. */
export function renderTemplate(
  template: CompiledTemplate,
  values: Values,
  options: RenderOptions = {},
): unknown[] {
  const context = { values, stringNames: options.stringNames ?? NO_NAMES };
  return template.documents.map((doc) => renderNode(doc.root, context));
}

/** Options for {@linkcode renderTemplate}. */
export interface RenderOptions {
  /**
   * Values that are strings by nature (a body's base64, a UUID): a plain scalar using one is
   * never typed, so a base64 text of digits stays a string.
   */
  stringNames?: ReadonlySet<string>;
}

const NO_NAMES: ReadonlySet<string> = new Set();

interface RenderContext {
  values: Values;
  stringNames: ReadonlySet<string>;
}

type Token = [string, string, number, number, ...unknown[]];

/**
 * A mustache writer of our own whose cache is emptied after each parse: the default writer keeps
 * every template text it has parsed, with its tokens, for the life of the process (about 15 KB
 * per manifest, never freed: 150 MB after one build of 10,000 manifests).
 */
const mustache = new Mustache.Writer();

function parseMustache(source: string): Token[] {
  try {
    return mustache.parse(source) as Token[];
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const at = /at (\d+)/.exec(message);
    throw new TemplateError(
      `mustache: ${message.split("\n")[0]}`,
      at ? lineAt(source, Number(at[1])) : undefined,
    );
  } finally {
    mustache.clearCache();
  }
}

/** A letters-only marker the template does not contain, so placeholders cannot collide. */
function uniqueMarker(source: string): string {
  for (;;) {
    const bytes = crypto.getRandomValues(new Uint8Array(10));
    const marker = "gf" + Array.from(bytes, (b) => String.fromCharCode(97 + (b % 26))).join("");
    if (!source.includes(marker)) return marker;
  }
}

function lineAt(source: string, offset: number): number {
  let line = 1;
  for (let i = 0; i < offset && i < source.length; i++) if (source.charCodeAt(i) === 10) line++;
  return line;
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
}

function compileYaml(text: string, context: YamlContext): CompiledDocument[] {
  // YAML 1.1 merge keys (`<<: *base`) are honoured because the API server's own YAML reader
  // (go-yaml) honours them; everything else follows the YAML 1.2 core schema.
  const docs = parseAllDocuments(text, { merge: true, prettyErrors: false, uniqueKeys: true });
  const lineOf = context.lineOf;
  const compiled: CompiledDocument[] = [];
  let index = 0;
  for (const doc of docs) {
    if (doc.errors.length > 0) {
      const error = doc.errors[0];
      throw new TemplateError(
        `invalid YAML: ${firstLine(error.message)}`,
        lineOf(error.pos[0]),
      );
    }
    const line = lineOf(doc.contents?.range?.[0] ?? doc.range[0]);
    if (doc.contents === null) continue; // an empty document, e.g. after a trailing `---`
    const plainMark = `${context.marker}P`;
    visit(doc, {
      Pair(_, pair) {
        const key = isScalar(pair.key) ? String(pair.key.value) : "";
        if (key.includes(context.marker)) {
          throw new TemplateError(
            "a mapping key cannot contain a {{value}}: values set data, never structure",
            lineOf(pair.key && isScalar(pair.key) ? pair.key.range?.[0] ?? 0 : 0),
          );
        }
      },
      Scalar(_, node) {
        if (typeof node.value !== "string" || !node.value.includes(context.marker)) return;
        const tag = node.tag;
        if (tag && tag !== "tag:yaml.org,2002:str" && tag !== "!!str") {
          throw new TemplateError(
            `a {{value}} cannot sit in a scalar with the explicit tag ${tag}`,
            lineOf(node.range?.[0] ?? 0),
          );
        }
        // Plain scalars are typed from their text (so `replicas: {{n}}` gives a number);
        // quoted and block scalars always stay strings. The mark carries that to toJS().
        if (node.type === "PLAIN" && !tag) node.value = plainMark + node.value;
      },
    });
    const value = doc.toJS({ maxAliasCount: 1000 });
    if (value === null || value === undefined) continue; // only comments, or `---` alone
    if (typeof value !== "object" || Array.isArray(value)) {
      throw new TemplateError(
        `document ${index + 1} is not a mapping: each document must be one Kubernetes object`,
        line,
      );
    }
    compiled.push({ index, line, root: compileValue(value, context, plainMark) });
    index++;
  }
  if (compiled.length === 0) throw new TemplateError("the manifest holds no YAML document");
  return compiled;
}

function firstLine(message: string): string {
  return message.split("\n")[0].replace(/ at line \d+, column \d+.*$/, "");
}

function compileValue(value: unknown, context: YamlContext, plainMark: string): TemplateNode {
  if (typeof value === "string") {
    if (!value.includes(context.marker)) return value;
    const plain = value.startsWith(plainMark);
    return new TemplateText(
      splitParts(plain ? value.slice(plainMark.length) : value, context),
      plain,
    );
  }
  if (Array.isArray(value)) return value.map((v) => compileValue(v, context, plainMark));
  if (value instanceof Map) {
    // toJS() gives a Map only for non-string keys; Kubernetes objects want string keys.
    return compileValue(Object.fromEntries(value), context, plainMark);
  }
  if (value instanceof Date) return value.toISOString();
  if (value !== null && typeof value === "object") {
    // toJS()'s own object, filled in place: it already has the keys in order.
    const object = value as Record<string, unknown>;
    for (const key of Object.keys(object)) {
      setOwn(object, key, compileValue(object[key], context, plainMark));
    }
    return object as { [key: string]: TemplateNode };
  }
  return value as number | boolean | null;
}

/** Splits text at its placeholders (`<marker><n>z`, written by compileTemplate). */
function splitParts(text: string, context: YamlContext): Part[] {
  const { marker } = context;
  const parts: Part[] = [];
  let last = 0;
  for (let at = text.indexOf(marker); at !== -1; at = text.indexOf(marker, last)) {
    if (at > last) parts.push(text.slice(last, at));
    const end = text.indexOf("z", at + marker.length);
    parts.push({ value: context.names[Number(text.slice(at + marker.length, end))] });
    last = end + 1;
  }
  if (last < text.length) parts.push(text.slice(last));
  return parts;
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
      text += context.values[part.value] ?? "";
      if (context.stringNames.has(part.value)) typed = false;
    }
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
