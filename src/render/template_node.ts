/**
 * The compiled form of a manifest template, shared by the compiler (`template.ts`,
 * `yaml_tree.ts`), the renderer and the JSON codec.
 * @module
 */

/** Options for {@linkcode TemplateError}. */
export interface TemplateErrorOptions {
  /** 1-based line of the template where the problem is. */
  line?: number;
  /** What caused the problem. */
  cause?: unknown;
}

/** A template problem found at index build, with the 1-based line where it is. */
export class TemplateError extends Error {
  /** The error's name. */
  override name = "TemplateError";
  /** 1-based line of the template, when known. */
  readonly line?: number;
  /** The message without its `line N: ` prefix. */
  readonly detail: string;
  /** Builds an error, prefixed with `line N: ` when the line is known. */
  constructor(message: string, options: TemplateErrorOptions = {}) {
    super(options.line ? `line ${options.line}: ${message}` : message, { cause: options.cause });
    this.line = options.line;
    this.detail = message;
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
  /** The document's object, as compiled. */
  root: TemplateNode;
}

/**
 * How much a template renders to, aliases and merge keys expanded: what every publish of it
 * builds in memory and sends.
 */
export interface TemplateSize {
  /** Mappings, sequences, keys and scalar values. */
  nodes: number;
  /** Characters of keys and of literal string values (values set at publish not counted). */
  text: number;
}

/** A parsed manifest template, ready to render many times. */
export interface CompiledTemplate {
  /** Its documents that hold an object, in order. */
  documents: CompiledDocument[];
  /** Every value name the template uses, in order of first use. */
  valueNames: string[];
  /** What it renders to, before values are set. */
  size: TemplateSize;
}
