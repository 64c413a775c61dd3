import { assertEquals } from "./support/assert.ts";
import { parseTopicConfig } from "../src/topics/config_file.ts";

Deno.test("a valid config gives its topics with normalized paths", () => {
  const result = parseTopicConfig(
    JSON.stringify({
      topics: [
        { name: "timeToCollect", configs: ["collect.yaml", "./jobs//convert.yaml"] },
        { name: "uncompress", configs: ["uncompress.yaml"] },
      ],
    }),
  );
  assertEquals(result.problems, []);
  assertEquals(result.topics, [
    { name: "timeToCollect", configs: ["collect.yaml", "jobs/convert.yaml"] },
    { name: "uncompress", configs: ["uncompress.yaml"] },
  ]);
});

Deno.test("every problem is reported with its JSON path", () => {
  const result = parseTopicConfig(
    JSON.stringify({
      topics: [
        { name: "ok", configs: ["a.yaml"], extra: 1 },
        { name: "bad name!", configs: [] },
        { configs: ["b.yaml"] },
      ],
      other: true,
    }),
  );
  const byPath = Object.fromEntries(result.problems.map((p) => [p.path, p.message]));
  assertEquals(Object.keys(byPath).sort(), [
    "",
    "topics[0]",
    "topics[1].configs",
    "topics[1].name",
    "topics[2].name",
  ]);
  assertEquals(byPath["topics[0]"], 'unknown key "extra"');
  assertEquals(byPath[""], 'unknown key "other"');
  assertEquals(byPath["topics[1].configs"], "must list at least one manifest file");
  assertEquals(byPath["topics[2].name"], "missing (expected string)");
});

Deno.test("duplicate topics and paths that escape the repository are refused", () => {
  const result = parseTopicConfig(
    JSON.stringify({
      topics: [
        { name: "a", configs: ["../secret.yaml", "/etc/passwd", "x/../../y.yaml"] },
        { name: "a", configs: ["ok.yaml", "dir\\\\file.yaml"] },
      ],
    }),
  );
  assertEquals(result.problems, [
    { path: "topics[0].configs[0]", message: `"../secret.yaml" escapes the repository with '..'` },
    {
      path: "topics[0].configs[1]",
      message: `"/etc/passwd" is absolute: manifest paths are relative to the repository root`,
    },
    { path: "topics[0].configs[2]", message: `"x/../../y.yaml" escapes the repository with '..'` },
    { path: "topics[1].name", message: `duplicate topic name "a" (also at topics[0])` },
    {
      path: "topics[1].configs[1]",
      message: `"dir\\\\file.yaml" contains a backslash: use '/' between folders`,
    },
  ]);
});

Deno.test("text that is not JSON is one clear problem", () => {
  const result = parseTopicConfig("{topics: []");
  assertEquals(result.problems.length, 1);
  assertEquals(result.problems[0].path, "");
  assertEquals(result.problems[0].message.startsWith("not valid JSON"), true);
});

Deno.test("a topic may carry a schedule; a bad one names its path and what to write", () => {
  const ok = parseTopicConfig(JSON.stringify({
    topics: [
      { name: "nightly", configs: ["a.yaml"], schedule: "0 2 * * *", timeZone: "Europe/Paris" },
      { name: "often", configs: ["a.yaml"], schedule: "@every 30s", startingDeadlineSeconds: 60 },
    ],
  }));
  assertEquals(ok.problems, []);
  assertEquals(ok.topics?.[0].schedule?.schedule, {
    kind: "cron",
    expression: "0 2 * * *",
    timeZone: "Europe/Paris",
  });
  assertEquals(ok.topics?.[1].schedule?.startingDeadlineSeconds, 60);
  const bad = parseTopicConfig(JSON.stringify({
    topics: [
      { name: "a", configs: ["a.yaml"], schedule: "every minute" },
      { name: "b", configs: ["a.yaml"], timeZone: "UTC" },
      { name: "c", configs: ["a.yaml"], schedule: "@every 100ms" },
    ],
  }));
  assertEquals(bad.problems.map((p) => p.path), [
    "topics[0].schedule",
    "topics[1].timeZone",
    "topics[2].schedule",
  ]);
});
