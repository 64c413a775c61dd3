/**
 * The worker side of {@linkcode TemplateWorker}: compiles (and, given the policy, checks) the
 * templates it is sent, one at a time, and answers with each one in chunks (or its error).
 * @module
 */

/// <reference no-default-lib="true" />
/// <reference lib="deno.worker" />

import { compileTemplate, TemplateError } from "../render/template.ts";
import { streamTemplate } from "../render/template_stream.ts";
import { silenceYamlDebugSwitches } from "../render/yaml_debug_switches.ts";
import { checkTemplate } from "./checks.ts";
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
  const { id, source, limits, policy } = event.data;
  worked = performance.now();
  let reply: CompileReply;
  try {
    const template = compileTemplate(source, { limits, breathe });
    // The checks render the whole template: here, not on the main thread.
    const check = policy && checkTemplate(template, policy);
    // Chunks of JSON text: the main thread rebuilds the template a chunk at a time, answering
    // requests in between (a structured clone of the objects would be one long step).
    reply = { id, template: streamTemplate(template), check };
  } catch (error) {
    reply = error instanceof TemplateError
      ? { id, templateError: { message: error.detail, line: error.line } }
      : { id, failure: error instanceof Error ? `${error.name}: ${error.message}` : String(error) };
  }
  self.postMessage(reply);
};
