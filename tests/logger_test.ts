/**
 * The JSON-lines logger: what a log collector reads from each line.
 */

import { assertEquals } from "./support/assert.ts";
import { jsonLogger } from "../src/log/logger.ts";

function recorded(): { lines: Record<string, unknown>[]; write: (line: string) => void } {
  const lines: Record<string, unknown>[] = [];
  return { lines, write: (line) => lines.push(JSON.parse(line)) };
}

Deno.test("a field named like the line's own keys neither replaces them nor is lost", () => {
  // The runs follower logs a failed Job with the Job's status message as a field: the line must
  // still say what happened ("a published Job failed"), at its level and time.
  const { lines, write } = recorded();
  jsonLogger({ write }).warn("a published Job failed", {
    message: "last pod convert-x: OOMKilled (exit code 137)",
    level: "debug",
    time: "yesterday",
    runId: "r1",
  });
  const [line] = lines;
  assertEquals(Object.keys(line).slice(0, 3), ["time", "level", "message"]);
  assertEquals([line.level, line.message], ["warn", "a published Job failed"]);
  assertEquals(typeof line.time === "string" && !Number.isNaN(Date.parse(line.time)), true);
  assertEquals(line.field_message, "last pod convert-x: OOMKilled (exit code 137)");
  assertEquals([line.field_level, line.field_time, line.runId], ["debug", "yesterday", "r1"]);
});

Deno.test("lines below the level are dropped and secrets are scrubbed", () => {
  const { lines, write } = recorded();
  const logger = jsonLogger({ write, level: "info", secrets: ["tok-123456"] });
  logger.debug("not shown");
  logger.info("fetch failed", { url: "https://bot:tok-123456@git.example.com/x.git" });
  assertEquals(lines.length, 1);
  assertEquals(lines[0].url, "https://bot:***@git.example.com/x.git");
});
