// deno-lint-ignore-file no-explicit-any -- tests reach deep into rendered objects
import process from "node:process";
import { assert, assertEquals, assertThrows } from "./support/assert.ts";
import { compileTemplate, renderTemplate, TemplateError } from "../src/render/template.ts";
import { silenceYamlDebugSwitches } from "../src/render/yaml_debug_switches.ts";

const JOB = `apiVersion: batch/v1
kind: Job
metadata:
  name: collect-{{RANDOM}}   # a comment with {{ignored}}
spec:
  parallelism: {{replicas}}
  template:
    spec:
      containers:
        - name: main
          image: busybox
          args: ["echo", '{{word}}', x{{word}}]
          env:
            - name: PAYLOAD
              value: "{{MESSAGE}}"
            - name: SCRIPT
              value: |
                {{word}}
                done
`;

Deno.test("values land where the template says, typed like YAML for plain scalars", () => {
  const template = compileTemplate(JOB);
  const [job] = renderTemplate(template, {
    RANDOM: "abc123",
    replicas: "2",
    word: "hi",
    MESSAGE: "aGk=",
  }) as Record<string, any>[];
  assertEquals(job.metadata.name, "collect-abc123");
  assertEquals(job.spec.parallelism, 2);
  const container = job.spec.template.spec.containers[0];
  assertEquals(container.args, ["echo", "hi", "xhi"]);
  assertEquals(container.env[0].value, "aGk=");
  assertEquals(container.env[1].value, "hi\ndone\n");
});

Deno.test("a value that looks like YAML structure stays one string wherever it is placed", () => {
  const attack = "x\"\n  kind: Role\n- evil: true\n---\napiVersion: v1\n'";
  const template = compileTemplate(JOB);
  const [job] = renderTemplate(template, {
    RANDOM: attack,
    replicas: "1\nkind: Role",
    word: attack,
    MESSAGE: attack,
  }) as Record<string, any>[];
  assertEquals(job.kind, "Job");
  assertEquals(job.metadata.name, `collect-${attack}`);
  assertEquals(job.spec.parallelism, "1\nkind: Role");
  const container = job.spec.template.spec.containers[0];
  assertEquals(container.args, ["echo", attack, `x${attack}`]);
  assertEquals(container.env[0].value, attack);
  assertEquals(container.env[1].value, `${attack}\ndone\n`);
  assertEquals(Object.keys(job).sort(), ["apiVersion", "kind", "metadata", "spec"]);
});

Deno.test("plain scalars type as YAML would, but never into a structure", () => {
  const template = compileTemplate("apiVersion: v1\nkind: ConfigMap\ndata:\n  v: {{v}}\n");
  const typed = (v: string) =>
    (renderTemplate(template, { v })[0] as { data: { v: unknown } }).data.v;
  assertEquals(typed("3"), 3);
  assertEquals(typed("true"), true);
  assertEquals(typed(""), null);
  assertEquals(typed("0x1f"), 31);
  assertEquals(typed("[1, 2]"), "[1, 2]");
  assertEquals(typed("{a: 1}"), "{a: 1}");
  assertEquals(typed("a: b"), "a: b");
  assertEquals(typed("1 # comment"), "1 # comment");
  assertEquals(typed("*alias"), "*alias");
});

Deno.test("unescaped tags insert the value as data too, never HTML-escaped", () => {
  const template = compileTemplate(
    'apiVersion: v1\nkind: ConfigMap\ndata:\n  a: "{{{v}}}"\n  b: "{{& v}}"\n  c: "{{v}}"\n',
  );
  const [cm] = renderTemplate(template, { v: "<a href='x'>&=" }) as Record<string, any>[];
  assertEquals(cm.data, { a: "<a href='x'>&=", b: "<a href='x'>&=", c: "<a href='x'>&=" });
});

Deno.test("several documents render to several objects; empty documents are skipped", () => {
  const template = compileTemplate(
    "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: '{{n}}'}\n",
  );
  const objects = renderTemplate(template, { n: "b" }) as Record<string, any>[];
  assertEquals(objects.map((o) => o.metadata.name), ["a", "b"]);
});

Deno.test("templates that could let a value change structure are refused with their line", () => {
  const cases: [string, RegExp][] = [
    ["apiVersion: v1\nkind: ConfigMap\n{{#items}}\nx: 1\n{{/items}}\n", /line 3: .*not supported/],
    ["apiVersion: v1\nkind: ConfigMap\ndata:\n  {{key}}: 1\n", /line 4: a mapping key/],
    ["apiVersion: v1\nkind: ConfigMap\n{{> partial}}\n", /not supported/],
    ["apiVersion: v1\nkind: ConfigMap\ndata:\n  a: [1,\n", /invalid YAML/],
    ["- a\n- b\n", /not a mapping/],
    ["apiVersion: v1\nkind: ConfigMap\ndata: {a: {{x}\n", /mustache/],
    ["", /no YAML document/],
    ["apiVersion: v1\nkind: ConfigMap\ndata:\n  a: 1\n  a: 2\n", /invalid YAML/],
  ];
  for (const [source, expected] of cases) {
    const error = assertThrows(() => compileTemplate(source), TemplateError);
    assert(expected.test(error.message), `${JSON.stringify(source)} gave "${error.message}"`);
  }
});

Deno.test("a missing value renders as an empty string, as in mustache", () => {
  const template = compileTemplate("apiVersion: v1\nkind: ConfigMap\ndata:\n  a: 'x-{{nope}}'\n");
  assertEquals((renderTemplate(template, {})[0] as Record<string, any>).data.a, "x-");
});

Deno.test("compiling lists the value names a template uses", () => {
  assertEquals(compileTemplate(JOB).valueNames, [
    "RANDOM",
    "ignored",
    "replicas",
    "word",
    "MESSAGE",
  ]);
});

Deno.test("values named as strings by nature are never typed, even unquoted", () => {
  const template = compileTemplate(
    "apiVersion: v1\nkind: ConfigMap\ndata:\n  m: {{MESSAGE}}\n  n: {{n}}\n",
  );
  const [cm] = renderTemplate(template, { MESSAGE: "1234", n: "1234" }, {
    stringNames: new Set(["MESSAGE"]),
  }) as Record<string, any>[];
  assertEquals(cm.data, { m: "1234", n: 1234 });
});

Deno.test("a key named __proto__ is data, in the template and in what is rendered", () => {
  const template = compileTemplate(
    `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\ndata:\n  __proto__: "{{v}}"\n  b: c\n`,
  );
  const [object] = renderTemplate(template, { v: "kept" }) as any[];
  assertEquals(Object.getPrototypeOf(object.data), Object.prototype);
  assertEquals(Object.keys(object.data), ["__proto__", "b"]);
  assertEquals(JSON.parse(JSON.stringify(object.data)), JSON.parse('{"__proto__":"kept","b":"c"}'));
});

Deno.test("every render is a fresh copy: changing one changes neither the template nor the next", () => {
  const template = compileTemplate(JOB);
  const [first] = renderTemplate(template, { RANDOM: "a" }) as any[];
  first.metadata.labels = { changed: "yes" };
  first.spec.template.spec.containers[0].env.push({ name: "EXTRA" });
  const [second] = renderTemplate(template, { RANDOM: "b" }) as any[];
  assertEquals(second.metadata, { name: "collect-b" });
  assertEquals(second.spec.template.spec.containers[0].env.length, 2);
});

Deno.test("importing and using the template modules leaves process.env as it is", async () => {
  // In a process of its own: this file's other tests silence the switches in this one.
  const code = `
    import process from "node:process";
    const before = process.env;
    const { compileTemplate } = await import("./src/render/template.ts");
    await import("./src/topics/topic_index.ts");
    compileTemplate("apiVersion: v1\\nkind: ConfigMap\\nmetadata: {name: a}\\n");
    console.log(JSON.stringify(process.env === before));
  `;
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["eval", "--quiet", code],
    cwd: new URL("../", import.meta.url),
    stderr: "inherit",
  }).output();
  assertEquals(new TextDecoder().decode(output.stdout).trim(), "true");
});

Deno.test("silencing yaml's debug switches leaves the rest of process.env working", () => {
  silenceYamlDebugSwitches();
  silenceYamlDebugSwitches(); // a second call changes nothing
  const name = "GITFAAS_ENV_PROBE";
  Deno.env.set("LOG_TOKENS", "1");
  Deno.env.set("LOG_STREAM", "1");
  const printed: unknown[] = [];
  const log = console.log;
  console.log = (...args: unknown[]) => printed.push(args);
  try {
    compileTemplate(JOB);
  } finally {
    console.log = log;
    Deno.env.delete("LOG_TOKENS");
    Deno.env.delete("LOG_STREAM");
  }
  assertEquals(printed, [], "yaml printed its debug output");
  assertEquals(process.env.PATH, Deno.env.get("PATH"));
  process.env[name] = "set through process.env";
  assertEquals(Deno.env.get(name), "set through process.env");
  assert(name in process.env);
  assert(Object.keys(process.env).includes(name));
  assertEquals({ ...process.env }[name], "set through process.env");
  delete process.env[name];
  assertEquals(Deno.env.get(name), undefined);
});
