/**
 * Templates compiled in the worker are the templates `compileTemplate` gives, errors included,
 * and the calling thread keeps running while a large one compiles.
 */

import { assert, assertEquals, assertRejects } from "./support/assert.ts";
import { ECHO_JOB } from "./support/fixtures.ts";
import { compileTemplate, renderTemplate, TemplateError } from "../src/render/template.ts";
import { TemplateWorker } from "../src/topics/template_worker.ts";
import { checkTemplate } from "../src/topics/checks.ts";
import { parseKindList, type Policy } from "../src/policy/policy.ts";

/** A ConfigMap of `keys` templated keys: ~30 bytes per key. */
function configMap(keys: number): string {
  const data = Array.from({ length: keys }, (_, i) => `  k${i}: "v-{{v}}-${i}"\n`).join("");
  return `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm-{{RANDOM}}\ndata:\n${data}`;
}

Deno.test("a template compiled in the worker renders what it renders compiled here", async () => {
  const worker = new TemplateWorker({ inlineChars: 0 });
  try {
    for (const source of [ECHO_JOB, configMap(2000)]) {
      const there = await worker.compile(source);
      const here = compileTemplate(source);
      assertEquals(there.valueNames, here.valueNames);
      assertEquals(there.size, here.size);
      const values = { v: "x", RANDOM: "r", replicas: "3", MESSAGE: "aGk=" };
      assertEquals(renderTemplate(there, values), renderTemplate(here, values));
    }
  } finally {
    worker.close();
  }
});

Deno.test("a template's error comes back from the worker as the same TemplateError", async () => {
  const worker = new TemplateWorker({ inlineChars: 0 });
  try {
    const source = `${ECHO_JOB}  extra: !!binary aGk=\n`;
    const error = await assertRejects(() => worker.compile(source), TemplateError);
    let expected: TemplateError | undefined;
    try {
      compileTemplate(source);
    } catch (e) {
      expected = e as TemplateError;
    }
    assertEquals(error.message, expected?.message);
    assertEquals(error.line, expected?.line);
    assert(error.message.startsWith("line 26: the tag !!binary"), error.message);
  } finally {
    worker.close();
  }
});

Deno.test("while the worker compiles a large template, this thread keeps running", async () => {
  const worker = new TemplateWorker();
  try {
    let ticks = 0;
    const timer = setInterval(() => ticks++, 0);
    const template = await worker.compile(configMap(20_000)).finally(() => clearInterval(timer));
    assertEquals(Object.keys(template.documents[0].root as object).length, 4);
    assert(ticks > 0, "no timer ran during the compile");
  } finally {
    worker.close();
  }
});

Deno.test("small templates compile here; closing the worker rejects what it had not answered", async () => {
  const worker = new TemplateWorker();
  const small = await worker.compile(ECHO_JOB);
  assertEquals(small.valueNames, compileTemplate(ECHO_JOB).valueNames);
  const pending = worker.compile(configMap(20_000));
  worker.close();
  await assertRejects(() => pending, Error, "the template compiler was closed");
});

Deno.test("checked in the worker, a template's checks find what they find here", async () => {
  const worker = new TemplateWorker({ inlineChars: 0 });
  const policy: Policy = {
    deniedKinds: parseKindList("ConfigMap"),
    allowedClusterKinds: [],
    allowedNamespaces: new Set(["default"]),
  };
  try {
    for (const source of [ECHO_JOB, configMap(3000), `${configMap(10)}  namespace: other\n`]) {
      const checked = await worker.compileChecked(source, { policy });
      assertEquals(checked.check, checkTemplate(compileTemplate(source), policy));
    }
    const denied = await worker.compileChecked(configMap(3000), { policy });
    assert(denied.check!.policy.length > 0, "the denied kind is found in the worker");
  } finally {
    worker.close();
  }
});

Deno.test("an idle worker ends, and the next large template starts a new one", async () => {
  const worker = new TemplateWorker({ inlineChars: 0, idleMs: 20 });
  try {
    assertEquals(worker.running, false);
    const first = await worker.compile(configMap(100));
    assertEquals(worker.running, true);
    const deadline = Date.now() + 10_000;
    while (worker.running && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    assertEquals(worker.running, false, "the worker was still running 10 s after its last compile");
    const again = await worker.compile(configMap(100));
    assertEquals(again.valueNames, first.valueNames);
  } finally {
    worker.close();
  }
});

Deno.test("the worker stays until idle for idleMs, and close ends it", async () => {
  const worker = new TemplateWorker({ inlineChars: 0, idleMs: 60_000 });
  try {
    await worker.compile(configMap(100));
    await new Promise((r) => setTimeout(r, 50));
    assertEquals(worker.running, true);
  } finally {
    worker.close();
  }
  assertEquals(worker.running, false);
});
