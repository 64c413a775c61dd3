/**
 * The compiled-template file in DATA_DIR: written only when enough of the serving index is not
 * in it yet, replaced atomically, and never trusted beyond what it can prove (another format, a
 * broken file or a broken entry reads as missing, and those templates are compiled again).
 */

import { assert, assertEquals } from "./support/assert.ts";
import { ECHO_JOB } from "./support/fixtures.ts";
import { type CompiledTemplate, compileTemplate, renderTemplate } from "../src/render/template.ts";
import { TEMPLATE_FORMAT } from "../src/render/template_codec.ts";
import { FileTemplateStore } from "../src/topics/template_store.ts";

function templates(count: number, from = 0): Map<string, CompiledTemplate> {
  const map = new Map<string, CompiledTemplate>();
  for (let i = from; i < from + count; i++) {
    map.set(
      `${i}`.padStart(40, "0"),
      compileTemplate(ECHO_JOB.replace("echo-{{RANDOM}}", `job-${i}-{{RANDOM}}`)),
    );
  }
  return map;
}

async function withDir(run: (dir: string) => Promise<void>) {
  const dir = await Deno.makeTempDir({ prefix: "gitfaas-template-store-" });
  try {
    await run(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

const exists = (path: string) => Deno.stat(path).then(() => true, () => false);

Deno.test("templates are written once enough are new, and read back the same", () =>
  withDir(async (dir) => {
    const path = `${dir}/templates.json`;
    const store = new FileTemplateStore(path, { minUnsaved: 10 });
    await store.load();
    store.keep(templates(9));
    await store.settled();
    assert(!await exists(path), "9 new templates are below the threshold of 10");

    const kept = templates(10);
    store.keep(kept);
    await store.settled();
    assert(await exists(path));
    assertEquals([...Deno.readDirSync(dir)].map((e) => e.name), ["templates.json"]);

    const lookup = await new FileTemplateStore(path).load();
    const values = { RANDOM: "r", replicas: "3", MESSAGE: "aGk=" };
    for (const [oid, template] of kept) {
      assertEquals(renderTemplate(lookup.get(oid)!, values), renderTemplate(template, values));
    }
    assertEquals(lookup.get("f".repeat(40)), undefined);

    // Nine changed files on top of what is on disk: not worth a rewrite yet.
    const before = (await Deno.stat(path)).mtime;
    store.keep(new Map([...templates(1), ...templates(9, 100)]));
    await store.settled();
    assertEquals((await Deno.stat(path)).mtime, before);
  }));

Deno.test("another format, a broken file or a broken entry reads as missing", () =>
  withDir(async (dir) => {
    const errors: string[] = [];
    const onError = (error: Error) => errors.push(error.message);
    const path = `${dir}/templates.json`;
    const oid = "0".repeat(40);

    await Deno.writeTextFile(path, JSON.stringify({ format: "other/9", templates: { [oid]: {} } }));
    assertEquals((await new FileTemplateStore(path, { onError }).load()).get(oid), undefined);
    assertEquals(errors, [], "another format is not an error, only not read");
    // The first format: templates compiled before unknown tags and oversized files were refused.
    const first = '{"format":"gitfaas-compiled-template/1"}\n';
    await Deno.writeTextFile(path, `${first}${oid} {"documents":[],"valueNames":[]}\n`);
    assertEquals((await new FileTemplateStore(path, { onError }).load()).get(oid), undefined);
    assertEquals(errors, []);

    // Cut off in the middle of a line, as by a full disk.
    const header = `${JSON.stringify({ format: TEMPLATE_FORMAT })}\n`;
    await Deno.writeTextFile(path, `${header}${oid} {"documents":[`);
    assertEquals((await new FileTemplateStore(path, { onError }).load()).get(oid), undefined);
    assertEquals(errors.length, 1);

    const good = new FileTemplateStore(path, { minUnsaved: 1 });
    good.keep(templates(2));
    await good.settled();
    const lines = (await Deno.readTextFile(path)).split("\n");
    assertEquals(lines[0], header.trim());
    const broken = lines.map((line) =>
      line.startsWith(`${oid} `)
        ? `${oid} {"documents":[{"index":0,"line":1,"root":{"x":1}}]}`
        : line
    );
    await Deno.writeTextFile(path, broken.join("\n"));
    const lookup = await new FileTemplateStore(path, { onError }).load();
    assertEquals(lookup.get(oid), undefined);
    assert(lookup.get("1".padStart(40, "0")));
    assertEquals(errors.length, 2);
  }));

Deno.test("a write that fails is reported and leaves nothing behind", () =>
  withDir(async (dir) => {
    const errors: Error[] = [];
    const store = new FileTemplateStore(`${dir}/missing/templates.json`, {
      minUnsaved: 1,
      onError: (error) => errors.push(error),
    });
    store.keep(templates(3));
    await store.settled();
    assertEquals(errors.length, 1);
    assertEquals([...Deno.readDirSync(dir)], []);
  }));

Deno.test("a write cut off by a killed process leaves a file the next start removes", () =>
  withDir(async (dir) => {
    const path = `${dir}/templates.json`;
    await Deno.writeTextFile(`${path}.0b6f7a4e.tmp`, '{"format": "gitfaas-compi');
    await Deno.writeTextFile(`${dir}/unrelated.tmp`, "kept");
    await new FileTemplateStore(path).load();
    assertEquals([...Deno.readDirSync(dir)].map((e) => e.name), ["unrelated.tmp"]);
  }));
