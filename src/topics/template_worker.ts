/**
 * Template compiles off the event loop. Parsing YAML is synchronous, and a large manifest takes
 * long enough to parse that a router compiling on its main thread would answer no request, not
 * even the liveness probe, until done. A worker compiles instead; the main thread rebuilds the
 * result a chunk at a time, so it keeps answering during any build.
 * @module
 */

import { pacer } from "../lib/async.ts";
import type { Policy } from "../policy/policy.ts";
import {
  type CompiledTemplate,
  type CompileOptions,
  compileTemplate,
  TEMPLATE_LIMITS,
  TemplateError,
  type TemplateLimits,
} from "../render/template.ts";
import { type StreamedTemplate, unstreamTemplate } from "../render/template_stream.ts";
import { type CheckedTemplate, checkTemplate, type TemplateCheck } from "./checks.ts";

/** A compile asked of the worker. */
export interface CompileRequest {
  /** Names the reply. */
  id: number;
  /** The template's text. */
  source: string;
  /** What the template may render to. */
  limits: TemplateLimits;
  /** When given, the worker also runs the template's checks. */
  policy?: Policy;
}

/** The worker's answer: the template, the template's error, or an unexpected failure. */
export type CompileReply =
  | { id: number; template: StreamedTemplate; check?: TemplateCheck }
  | { id: number; templateError: { message: string; line?: number } }
  | { id: number; failure: string };

/** Options for {@linkcode TemplateWorker}. */
export interface TemplateWorkerOptions {
  /**
   * Templates up to this many characters without an alias compile on the calling thread
   * (default 8192): a few milliseconds at most, less than the worker's round trip. A Job is
   * ~1,000. A file with an alias (`*`) always goes to the worker: a few lines of aliases can
   * expand to the node limit.
   */
  inlineChars?: number;
  /**
   * The worker ends once it has had no compile for this many milliseconds (default 5,000): long
   * enough that one build keeps it, short enough that an idle router gives its memory back.
   */
  idleMs?: number;
}

interface Pending {
  resolve: (checked: CheckedTemplate) => void;
  reject: (error: Error) => void;
}

/** Options for {@linkcode TemplateWorker.compileChecked}. */
export interface CheckedCompileOptions extends CompileOptions {
  /** The policy the template's checks run with. */
  policy: Policy;
}

/**
 * Compiles templates larger than a few kilobytes in a worker, and smaller ones on the calling
 * thread. The worker starts at the first large template and stays while compiles keep coming:
 * starting one holds the main thread while its runtime is set up, which a build of large
 * templates should pay once, not for each template. It ends when idle, since an idle worker holds
 * memory of its own (both measured: BENCHMARKS.md, "Adversarial templates and the index build",
 * "Footprint"); a router whose templates are all small never starts one.
 */
export class TemplateWorker {
  readonly #inlineChars: number;
  readonly #idleMs: number;
  #worker: Worker | undefined;
  #idleTimer: ReturnType<typeof setTimeout> | undefined;
  readonly #pending = new Map<number, Pending>();
  /** Rebuilding a large template pauses for the event loop every 10 ms. */
  readonly #pause = pacer(10);
  #nextId = 0;

  /** A compiler; no worker runs until the first large template. */
  constructor(options: TemplateWorkerOptions = {}) {
    this.#inlineChars = options.inlineChars ?? 8192;
    this.#idleMs = options.idleMs ?? 5_000;
  }

  /** Whether a worker is running (it starts at a large template and ends when idle). */
  get running(): boolean {
    return this.#worker !== undefined;
  }

  /** Compiles `source` as `compileTemplate` does, rejecting with its `TemplateError`. */
  async compile(source: string, options: CompileOptions = {}): Promise<CompiledTemplate> {
    return (await this.#compile(source, options)).template;
  }

  /**
   * Compiles `source` and runs its checks with `options.policy` (`checkTemplate`): for a large
   * template both happen in the worker, since the checks render the whole template.
   */
  async compileChecked(source: string, options: CheckedCompileOptions): Promise<CheckedTemplate> {
    const checked = await this.#compile(source, options);
    if (checked.check) return checked;
    return { ...checked, check: checkTemplate(checked.template, options.policy) };
  }

  #compile(
    source: string,
    options: CompileOptions & { policy?: Policy },
  ): Promise<CheckedTemplate> {
    if (source.length <= this.#inlineChars && !source.includes("*")) {
      try {
        return Promise.resolve({ template: compileTemplate(source, options) });
      } catch (error) {
        return Promise.reject(error);
      }
    }
    const worker = this.#worker ??= this.#start();
    clearTimeout(this.#idleTimer);
    const id = this.#nextId++;
    const { promise, resolve, reject } = Promise.withResolvers<CheckedTemplate>();
    this.#pending.set(id, { resolve, reject });
    const request: CompileRequest = {
      id,
      source,
      limits: options.limits ?? TEMPLATE_LIMITS,
      policy: options.policy,
    };
    worker.postMessage(request);
    return promise;
  }

  /** Stops the worker; compiles under way are rejected. */
  close(): void {
    this.#stop(new Error("the template compiler was closed"));
  }

  #start(): Worker {
    const worker = new Worker(new URL("./compile_worker.ts", import.meta.url), {
      type: "module",
    });
    worker.onmessage = (event: MessageEvent<CompileReply>) => this.#answer(event.data);
    worker.onerror = (event) => {
      event.preventDefault();
      this.#stop(new Error(`the template compiler failed: ${event.message}`));
    };
    worker.onmessageerror = () => this.#stop(new Error("the template compiler sent bad data"));
    return worker;
  }

  #answer(reply: CompileReply): void {
    const pending = this.#pending.get(reply.id);
    if (!pending) return;
    this.#pending.delete(reply.id);
    if (this.#pending.size === 0) {
      // Nothing is pending when it fires: a new compile clears it.
      const timer = setTimeout(() => this.#stop(new Error("idle")), this.#idleMs);
      // An idle worker's timer never keeps the process alive.
      Deno.unrefTimer(timer);
      this.#idleTimer = timer;
    }
    if ("template" in reply) {
      const check = reply.check;
      unstreamTemplate(reply.template, this.#pause).then(
        (template) => pending.resolve({ template, check }),
        (error) =>
          pending.reject(new Error("the template compiler sent bad data", { cause: error })),
      );
    } else if ("templateError" in reply) {
      pending.reject(new TemplateError(reply.templateError.message, reply.templateError));
    } else pending.reject(new Error(`the template compiler failed: ${reply.failure}`));
  }

  #stop(reason: Error): void {
    clearTimeout(this.#idleTimer);
    this.#worker?.terminate();
    this.#worker = undefined;
    const pending = [...this.#pending.values()];
    this.#pending.clear();
    for (const { reject } of pending) reject(reason);
  }
}
