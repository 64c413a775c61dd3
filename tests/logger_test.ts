/**
 * The JSON-lines logger: what a log collector reads from each line.
 */

import { assert, assertEquals } from "./support/assert.ts";
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

Deno.test("every line reaches standard output whole, even when the process ends right after", async () => {
  // Lines wait a few milliseconds to be written together, but the last ones before an exit or
  // a crash are not lost, and a closed pipe is not turned into an error of the caller.
  const length = (i: number) => i === 250 ? 20_000 : 100 + i % 7;
  const script = `
    import { jsonLogger } from ${
    JSON.stringify(new URL("../src/log/logger.ts", import.meta.url).href)
  };
    const logger = jsonLogger();
    const mode = Deno.args[0];
    const length = ${length.toString()};
    // Lines of several lengths, one far longer than the others.
    for (let i = 0; i < 500; i++) logger.info("line", { i, text: "é".repeat(length(i)) });
    if (mode === "exit") Deno.exit(3);
    if (mode === "crash") throw new Error("boom");
    if (mode === "closed") {
      await new Promise((resolve) => setTimeout(resolve, 200));
      logger.info("after the reader left");
      Deno.stderr.writeSync(new TextEncoder().encode("still running\\n"));
    }
  `;
  for (const mode of ["exit", "crash"]) {
    const output = await new Deno.Command(Deno.execPath(), {
      args: ["eval", script, mode],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const lines = new TextDecoder().decode(output.stdout).split("\n");
    assertEquals(lines.pop(), "");
    assertEquals(lines.map((line) => JSON.parse(line).i), [...Array(500).keys()], mode);
    assertEquals(
      lines.map((line) => JSON.parse(line).text),
      [...Array(500).keys()].map((i) => "é".repeat(length(i))),
    );
    assertEquals(output.code, mode === "exit" ? 3 : 1);
  }
  const child = new Deno.Command(Deno.execPath(), {
    args: ["eval", script, "closed"],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  await child.stdout.cancel();
  const { code, stderr } = await child.output();
  assertEquals([code, new TextDecoder().decode(stderr)], [0, "still running\n"]);
});

Deno.test("a line waits only milliseconds, while the process goes on", async () => {
  const script = `
    import { jsonLogger } from ${
    JSON.stringify(new URL("../src/log/logger.ts", import.meta.url).href)
  };
    const logger = jsonLogger();
    logger.info("first");
    await new Promise((resolve) => setTimeout(resolve, 60_000));
  `;
  const child = new Deno.Command(Deno.execPath(), {
    args: ["eval", script],
    stdout: "piped",
    stderr: "null",
  }).spawn();
  const reader = child.stdout.getReader();
  try {
    const started = performance.now();
    const { value } = await reader.read();
    const line = JSON.parse(new TextDecoder().decode(value));
    assertEquals([line.level, line.message], ["info", "first"]);
    // The child sleeps for a minute: the line came out on its own, not at the exit.
    assert(performance.now() - started < 30_000);
  } finally {
    child.kill();
    await reader.cancel();
    await child.status;
  }
});

Deno.test("a line waiting does not keep the process alive, and is written when it ends", async () => {
  const script = `
    import { jsonLogger } from ${
    JSON.stringify(new URL("../src/log/logger.ts", import.meta.url).href)
  };
    jsonLogger({ flushAfterMs: 600_000 }).info("last");
  `;
  const started = performance.now();
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["eval", script],
    stdout: "piped",
    stderr: "null",
  }).output();
  // Ten minutes of waiting would have kept it alive: it ended, and wrote the line on its way out.
  assert(performance.now() - started < 60_000);
  assertEquals(output.code, 0);
  assertEquals(JSON.parse(new TextDecoder().decode(output.stdout)).message, "last");
});
