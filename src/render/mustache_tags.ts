/**
 * The mustache tags of a template, found the way mustache.js 4.2 finds them (same tag syntax, same
 * `{{=<% %>=}}` delimiter changes, same removal of lines that hold only a comment or a delimiter
 * change), in one pass over the text. mustache.js's own parser makes a token per character of text
 * and, after a delimiter change, searches the rest of the file at every tag, which large templates
 * made costly in memory and time (BENCHMARKS.md, "Adversarial templates and the index build"). A
 * test compares the two on random input.
 * @module
 */

/**
 * A piece of a template: text, or a tag. `type` is mustache.js's: `text`, `name` (`{{x}}`),
 * `&` (`{{&x}}` and `{{{x}}}`), `!` (comment), `=` (delimiter change), `#`, `^`, `/`, `>`.
 */
export interface MustacheToken {
  /** `text`, or the tag's type. */
  type: string;
  /** The text, or the tag's content (a value's name). */
  value: string;
  /** Offset in the template where the piece starts. */
  start: number;
}

/** Options for {@linkcode MustacheSyntaxError}. */
export interface MustacheSyntaxErrorOptions extends ErrorOptions {
  /** Where in the template the problem is. */
  offset: number;
}

/** A template whose tags cannot be read (unclosed, or an unusable delimiter change). */
export class MustacheSyntaxError extends Error {
  /** The error's name. */
  override name = "MustacheSyntaxError";
  /** Where in the template the problem is. */
  readonly offset: number;
  /** An error at `options.offset`. */
  constructor(message: string, options: MustacheSyntaxErrorOptions) {
    super(message, { cause: options.cause });
    this.offset = options.offset;
  }
}

const TAG_TYPES = "#^/>{&=!";
const NON_SPACE = /\S/;

/** The text and tags of `source`, in order. */
export function scanMustache(source: string): MustacheToken[] {
  return new Scanner(source).scan();
}

class Scanner {
  readonly #source: string;
  readonly #tokens: MustacheToken[] = [];
  #open = "{{";
  #close = "}}";
  /** Index in #tokens of the current line's first piece. */
  #lineFirst = 0;
  /** The current line has a tag, and nothing but whitespace outside tags that are not values. */
  #lineHasTag = false;
  #lineHasContent = false;

  constructor(source: string) {
    this.#source = source;
  }

  scan(): MustacheToken[] {
    const source = this.#source;
    let pos = 0;
    while (pos < source.length) {
      const open = source.indexOf(this.#open, pos);
      this.#text(pos, open === -1 ? source.length : open);
      if (open === -1) break;
      pos = this.#tag(open);
    }
    this.#endLine();
    return this.#tokens;
  }

  /** Text from `start` to `end`, one piece per line so standalone lines can be dropped. */
  #text(start: number, end: number): void {
    const source = this.#source;
    for (let at = start; at < end;) {
      const newline = source.indexOf("\n", at);
      const stop = newline === -1 || newline >= end ? end : newline + 1;
      const value = source.slice(at, stop);
      this.#tokens.push({ type: "text", value, start: at });
      if (NON_SPACE.test(value)) this.#lineHasContent = true;
      if (stop === newline + 1) this.#endLine();
      at = stop;
    }
  }

  /** Reads the tag opening at `start`; returns where the text after it starts. */
  #tag(start: number): number {
    const source = this.#source;
    this.#lineHasTag = true;
    let pos = skipSpace(source, start + this.#open.length);
    let type = "name";
    if (pos < source.length && TAG_TYPES.includes(source[pos])) type = source[pos++];
    pos = skipSpace(source, pos);
    let value: string;
    if (type === "=") {
      const equals = source.indexOf("=", pos);
      if (equals === -1) throw this.#unclosed(start);
      value = source.slice(pos, trimEnd(source, pos, equals));
      pos = equals + 1;
    } else if (type === "{") {
      const curly = source.indexOf(`}${this.#close}`, pos);
      if (curly === -1) throw this.#unclosed(start);
      value = source.slice(pos, trimEnd(source, pos, curly));
      pos = curly + 1;
      type = "&";
    } else {
      const close = source.indexOf(this.#close, pos);
      if (close === -1) throw this.#unclosed(start);
      value = source.slice(pos, trimEnd(source, pos, close));
      pos = close;
    }
    const close = source.indexOf(this.#close, pos);
    if (close === -1) throw this.#unclosed(start);
    const end = close + this.#close.length;
    this.#tokens.push({ type, value, start });
    if (type === "name" || type === "&") this.#lineHasContent = true;
    if (type === "=") this.#setDelimiters(value, start);
    return end;
  }

  #setDelimiters(value: string, start: number): void {
    // As mustache.js: the first two words, anything after them ignored.
    const [open, close] = value.split(/\s+/, 2);
    if (!open || !close) {
      throw new MustacheSyntaxError(
        `the delimiter change "{{=${value}=}}" must give two delimiters, e.g. {{=<% %>=}}`,
        { offset: start },
      );
    }
    this.#open = open;
    this.#close = close;
  }

  /**
   * At the end of a line: a line holding only comments, delimiter changes or sections, and
   * whitespace, is left out entirely (whitespace and line break), as mustache does.
   */
  #endLine(): void {
    if (this.#lineHasTag && !this.#lineHasContent) {
      const kept = this.#tokens.slice(this.#lineFirst).filter((t) => t.type !== "text");
      this.#tokens.length = this.#lineFirst;
      this.#tokens.push(...kept);
    }
    this.#lineFirst = this.#tokens.length;
    this.#lineHasTag = false;
    this.#lineHasContent = false;
  }

  #unclosed(start: number): MustacheSyntaxError {
    return new MustacheSyntaxError(
      `the tag ${this.#open}… is not closed with ${this.#close}`,
      { offset: start },
    );
  }
}

/** The first offset from `from` that is not whitespace (as `\s` reads it). */
function skipSpace(text: string, from: number): number {
  let at = from;
  while (at < text.length && !NON_SPACE.test(text[at])) at++;
  return at;
}

/** `end`, moved back over the whitespace before it (not before `start`). */
function trimEnd(text: string, start: number, end: number): number {
  let at = end;
  while (at > start && !NON_SPACE.test(text[at - 1])) at--;
  return at;
}
