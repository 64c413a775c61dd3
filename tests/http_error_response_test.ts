/**
 * The error table: every error class the router knows becomes its status, body fields and
 * headers; anything else is a bug, answered 500 and logged with its stack.
 */

import { assert, assertEquals, assertStringIncludes } from "./support/assert.ts";
import { GitError } from "../src/git/git_source.ts";
import { errorAnswer, errorResponse } from "../src/http/error_response.ts";
import { HttpError } from "../src/http/http_error.ts";
import { STATUS_CODE } from "../src/http/status.ts";
import type { Logger } from "../src/log/logger.ts";
import { PublishError, type PublishRefusal } from "../src/publish/errors.ts";
import { indexBuildError } from "../src/topics/topic_index.ts";

Deno.test("an HttpError answers with its own status, fields and headers", () => {
  const error = new HttpError(STATUS_CODE.ContentTooLarge, "too big", {
    details: { limitBytes: 5 },
    headers: { "x-why": "limit" },
  });
  const { unexpected: _, ...answer } = errorAnswer(error);
  assertEquals(answer, {
    status: 413,
    body: { error: "too big", limitBytes: 5 },
    headers: { "x-why": "limit" },
  });
});

Deno.test("a refused publish answers by its reason, with Retry-After when it passes", () => {
  const cases: [PublishRefusal, number, string | null][] = [
    ["no-index", 503, "5"],
    ["unknown-topic", 404, null],
    ["unusable-topic", 403, null],
    ["policy", 403, null],
    ["busy", 503, "1"],
  ];
  for (const [reason, status, retryAfter] of cases) {
    const error = new PublishError(reason, {
      reason,
      retryAfterSeconds: retryAfter ? Number(retryAfter) : undefined,
      details: { problems: [] },
    });
    const answer = errorAnswer(error);
    assertEquals(answer.status, status, reason);
    assertEquals(answer.headers["retry-after"] ?? null, retryAfter, reason);
    assertEquals(answer.body, { error: reason, problems: [] });
  }
});

Deno.test("a failed sync answers 422 for the commit, 502 for Git", () => {
  const build = errorAnswer(indexBuildError("a".repeat(40), ["config.json: not valid JSON"]));
  assertEquals(build.status, 422);
  assertEquals(build.body.problems, ["config.json: not valid JSON"]);
  assertEquals(build.body.revision, "a".repeat(40));
  const git = errorAnswer(new GitError("auth", "the Git server refused the token"));
  assertEquals([git.status, git.body.kind], [502, "auth"]);
});

Deno.test("any other error is a bug: 500 saying so, logged with its stack", async () => {
  const logged: unknown[] = [];
  const logger = { error: (...args: unknown[]) => logged.push(args) } as unknown as Logger;
  const response = errorResponse(new RangeError("index out of range"), {
    logger,
    request: new Request("http://router.test/publish/x", { method: "POST" }),
  });
  assertEquals(response.status, 500);
  const body = await response.json();
  assertStringIncludes(body.error, "a bug in gitfaas");
  assertStringIncludes(body.error, "RangeError: index out of range");
  assertEquals(logged.length, 1);
  const [message, fields] = logged[0] as [string, { method: string; path: string; error: string }];
  assertStringIncludes(message, "bug");
  assertEquals([fields.method, fields.path], ["POST", "/publish/x"]);
  assert(fields.error.includes("RangeError") && fields.error.includes("at "), fields.error);
});
