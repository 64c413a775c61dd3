/**
 * Compiled templates kept on disk by blob id, so a restart with a warm DATA_DIR builds its first
 * index without parsing every manifest again (at 10,000 manifests, most of a build's time).
 * A Git blob id names one content forever, so a template compiled from a blob is right for that
 * blob in any commit; checks and policy still run on every build.
 * @module
 */

import type { CompiledTemplate } from "../render/template.ts";
import {
  decodeTemplate,
  type EncodedTemplate,
  encodeTemplate,
  TEMPLATE_FORMAT,
} from "../render/template_codec.ts";

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

interface StoreFile {
  format: string;
  templates: Record<string, EncodedTemplate>;
}

/** A {@linkcode TemplateStore} in one JSON file, replaced atomically on every write. */
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

  /** Reads the file; each template is decoded when first asked for. */
  async load(): Promise<TemplateLookup> {
    let file: StoreFile;
    try {
      file = JSON.parse(await Deno.readTextFile(this.#path));
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) this.#onError(error as Error);
      return { get: () => undefined };
    }
    if (file?.format !== TEMPLATE_FORMAT || typeof file.templates !== "object") {
      return { get: () => undefined };
    }
    const templates = file.templates ?? {};
    this.#onDisk = new Set(Object.keys(templates));
    return {
      get: (oid) => {
        if (!Object.hasOwn(templates, oid)) return undefined;
        try {
          return decodeTemplate(templates[oid]);
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
    const file: StoreFile = { format: TEMPLATE_FORMAT, templates: {} };
    for (const [oid, template] of templates) file.templates[oid] = encodeTemplate(template);
    const temporary = `${this.#path}.${crypto.randomUUID()}.tmp`;
    try {
      await Deno.writeTextFile(temporary, JSON.stringify(file));
      await Deno.rename(temporary, this.#path);
      this.#onDisk = new Set(templates.keys());
    } catch (error) {
      this.#onError(error as Error);
      await Deno.remove(temporary).catch(() => undefined);
    }
  }
}
