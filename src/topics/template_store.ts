/**
 * Compiled templates kept on disk by blob id, so a restart with a warm DATA_DIR builds its first
 * index without parsing every manifest again (at 10,000 manifests, most of a build's time).
 * A Git blob id names one content forever, so a template compiled from a blob is right for that
 * blob in any commit; checks and policy still run on every build.
 * @module
 */

import { basename, dirname } from "node:path";
import type { CompiledTemplate } from "../render/template.ts";
import { decodeTemplate, encodeTemplate, TEMPLATE_FORMAT } from "../render/template_codec.ts";

/** Compiled templates by blob id. */
export interface TemplateLookup {
  /** The template compiled from blob `oid`, when known. */
  get(oid: string): CompiledTemplate | undefined;
}

/** Where compiled templates are kept across restarts. */
export interface TemplateStore {
  /** What an earlier process kept (nothing when there is no usable file). */
  load(): Promise<TemplateLookup>;
  /**
   * Offers the templates of the index now serving. They are written when enough of them are not
   * on disk yet; the write happens in the background, one at a time.
   */
  keep(templates: ReadonlyMap<string, CompiledTemplate>): void;
  /** Resolves when no write is under way. */
  settled(): Promise<void>;
}

/** Options for {@linkcode FileTemplateStore}. */
export interface FileTemplateStoreOptions {
  /**
   * Templates not on disk that it takes for a write (default 32, or 5 % of the index when more):
   * small changes are compiled again at a restart rather than rewriting a large file each push.
   */
  minUnsaved?: number;
  /** Told when a read or write fails (the router then compiles, as without a store). */
  onError?: (error: Error) => void;
}

/**
 * A {@linkcode TemplateStore} in one file, replaced atomically on every write: a JSON header line
 * naming the format, then one line per blob, `<oid> <template as JSON>`.
 */
export class FileTemplateStore implements TemplateStore {
  readonly #path: string;
  readonly #minUnsaved: number;
  readonly #onError: (error: Error) => void;
  /** Blob ids in the file, as far as this process knows. */
  #onDisk = new Set<string>();
  #writing: Promise<void> = Promise.resolve();
  #busy = false;
  /** The newest templates offered and not written yet. */
  #pending: ReadonlyMap<string, CompiledTemplate> | undefined;

  /** A store in the file at `path` (its folder must exist when templates are kept). */
  constructor(path: string, options: FileTemplateStoreOptions = {}) {
    this.#path = path;
    this.#minUnsaved = options.minUnsaved ?? 32;
    this.#onError = options.onError ?? (() => undefined);
  }

  /**
   * Reads the file. Each template is parsed and decoded when asked for, and then let go of: the
   * file's text is all that is held until then. Ask once per blob.
   */
  async load(): Promise<TemplateLookup> {
    await this.#removeLeftovers();
    let text: string;
    try {
      text = await Deno.readTextFile(this.#path);
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) this.#onError(error as Error);
      return { get: () => undefined };
    }
    if (!text.startsWith(HEADER)) return { get: () => undefined };
    // Where each blob's template starts; a line is `<oid> <template as JSON>`.
    const lines = new Map<string, number>();
    for (let at = HEADER.length; at < text.length;) {
      const space = text.indexOf(" ", at);
      const end = text.indexOf("\n", at);
      if (space === -1 || end === -1 || space > end) {
        this.#onError(new Error(`${this.#path}: the line at offset ${at} is cut short`));
        break;
      }
      lines.set(text.slice(at, space), space + 1);
      at = end + 1;
    }
    this.#onDisk = new Set(lines.keys());
    return {
      get: (oid) => {
        const start = lines.get(oid);
        if (start === undefined) return undefined;
        lines.delete(oid);
        try {
          return decodeTemplate(JSON.parse(text.slice(start, text.indexOf("\n", start))));
        } catch (error) {
          this.#onError(error as Error);
          return undefined;
        }
      },
    };
  }

  keep(templates: ReadonlyMap<string, CompiledTemplate>): void {
    let unsaved = 0;
    for (const oid of templates.keys()) if (!this.#onDisk.has(oid)) unsaved++;
    if (unsaved < Math.max(this.#minUnsaved, templates.size * 0.05)) return;
    this.#pending = templates;
    if (!this.#busy) {
      this.#busy = true;
      this.#writing = this.#drain();
    }
  }

  settled(): Promise<void> {
    return this.#writing;
  }

  /** Temporary files of writes that a killed process never finished. */
  async #removeLeftovers(): Promise<void> {
    const dir = dirname(this.#path);
    const name = basename(this.#path);
    try {
      for await (const entry of Deno.readDir(dir)) {
        if (entry.name.startsWith(`${name}.`) && entry.name.endsWith(".tmp")) {
          await Deno.remove(`${dir}/${entry.name}`).catch(() => undefined);
        }
      }
    } catch {
      // No folder yet: nothing was ever written.
    }
  }

  async #drain(): Promise<void> {
    try {
      while (this.#pending) {
        const templates = this.#pending;
        this.#pending = undefined;
        await this.#write(templates);
      }
    } finally {
      this.#busy = false;
    }
  }

  async #write(templates: ReadonlyMap<string, CompiledTemplate>): Promise<void> {
    const temporary = `${this.#path}.${crypto.randomUUID()}.tmp`;
    let file: Deno.FsFile | undefined;
    try {
      file = await Deno.open(temporary, { write: true, createNew: true });
      const encoder = new TextEncoder();
      let chunk = HEADER;
      // Written some hundred lines at a time: each write lets requests in, so a large index
      // never holds the event loop for the whole encoding.
      for (const [oid, template] of templates) {
        chunk += `${oid} ${JSON.stringify(encodeTemplate(template))}\n`;
        if (chunk.length >= WRITE_CHUNK) {
          await writeAll(file, encoder.encode(chunk));
          chunk = "";
        }
      }
      await writeAll(file, encoder.encode(chunk));
      file.close();
      file = undefined;
      await Deno.rename(temporary, this.#path);
      this.#onDisk = new Set(templates.keys());
    } catch (error) {
      file?.close();
      this.#onError(error as Error);
      await Deno.remove(temporary).catch(() => undefined);
    }
  }
}

const HEADER = `${JSON.stringify({ format: TEMPLATE_FORMAT })}\n`;

/** Characters of template lines encoded before each write. */
const WRITE_CHUNK = 256 * 1024;

async function writeAll(file: Deno.FsFile, bytes: Uint8Array): Promise<void> {
  for (let written = 0; written < bytes.length;) {
    written += await file.write(bytes.subarray(written));
  }
}
