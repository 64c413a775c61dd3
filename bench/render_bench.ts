/**
 * Micro benchmarks of the work a router does in process: compiling a manifest template (once
 * per blob at index build) and rendering one publish's objects from it (values, render,
 * labels, the JSON body sent to the API server). No I/O.
 *
 * Run: `deno bench bench/render_bench.ts` (`bench/run.ts` runs it too).
 * @module
 */

import { addLabels } from "../src/publish/labels.ts";
import {
  BUILT_IN_NAMES,
  manifestValues,
  publishSeed,
  requestValues,
} from "../src/publish/values.ts";
import { compileTemplate, renderTemplate } from "../src/render/template.ts";
import type { KubeObject } from "../src/kube/apply.ts";
import { ECHO_JOB } from "../tests/support/fixtures.ts";
import { PUBLISH } from "./lib/templates.ts";
import { silenceYamlDebugSwitches } from "../src/render/yaml_debug_switches.ts";

// As the router does at start.
silenceYamlDebugSwitches();

const template = compileTemplate(ECHO_JOB);
const body = new TextEncoder().encode(PUBLISH.body);
const query = [...new URLSearchParams(PUBLISH.query)];

Deno.bench("compile the Job template (index build, per manifest)", () => {
  compileTemplate(ECHO_JOB);
});

Deno.bench("render one Job for a publish: values, render, labels, JSON body", () => {
  const requestUuid = publishSeed("job");
  const values = requestValues("job", body, { query, requestUuid });
  const [object] = renderTemplate(template, manifestValues(values, 0), {
    stringNames: BUILT_IN_NAMES,
  }) as KubeObject[];
  addLabels(object, { topic: "job", requestUuid });
  JSON.stringify(object);
});
