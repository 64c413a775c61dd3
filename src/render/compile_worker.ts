/**
 * The worker side of {@linkcode TemplateWorker}: compiles the templates it is sent, one at a
 * time, and answers with each one encoded as JSON data (or the template's error).
 * @module
 */

/// <reference no-default-lib="true" />
/// <reference lib="deno.worker" />

import { compileTemplate, TemplateError } from "./template.ts";
import { streamTemplate } from "./template_stream.ts";
import { silenceYamlDebugSwitches } from "./yaml_debug_switches.ts";
import type { CompileReply, CompileRequest } from "./template_worker.ts";

// A worker has a `process.env` of its own.
silenceYamlDebugSwitches();

/**
 * Sleeps a millisecond after every few of work: a compile of a large file takes seconds, and a
 * thread that never sleeps makes the main thread of the same process wait for a CPU when a
 * request comes in (on a busy machine, for a hundred milliseconds and more). About a sixth
 * slower compiles of large files, in exchange.
 */
function breathe(): void {
  if (performance.now() - worked < WORK_MS) return;
  Atomics.wait(sleeper, 0, 0, SLEEP_MS);
  worked = performance.now();
}
const WORK_MS = 5;
const SLEEP_MS = 1;
const sleeper = new Int32Array(new SharedArrayBuffer(4));
let worked = performance.now();

self.onmessage = (event: MessageEvent<CompileRequest>) => {
  const { id, source, limits } = event.data;
  worked = performance.now();
  let reply: CompileReply;
  try {
    // Chunks of JSON text: the main thread rebuilds the template a chunk at a time, answering
    // requests in between (a structured clone of the objects would be one long step).
    reply = { id, template: streamTemplate(compileTemplate(source, { limits, breathe })) };
  } catch (error) {
    reply = error instanceof TemplateError
      ? { id, templateError: { message: error.detail, line: error.line } }
      : { id, failure: error instanceof Error ? `${error.name}: ${error.message}` : String(error) };
  }
  self.postMessage(reply);
};
