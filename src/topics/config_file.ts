/**
 * The topic config file (`config.json`): which manifest templates each topic applies.
 * Validation names the JSON path of every problem, so a bad commit is easy to fix.
 * @module
 */

import { z } from "zod";

/** One topic as written in the config file. */
export interface TopicConfig {
  name: string;
  /** Manifest paths, relative to the repository root. */
  configs: string[];
}

/** A problem in the config file, at a JSON path such as `topics[1].configs[0]`. */
export interface ConfigProblem {
  path: string;
  message: string;
}

/**
 * Topic names become URL segments and Kubernetes label values, so they follow the label-value
 * rules: at most 63 characters, alphanumerics with `-`, `_` and `.` inside.
 */
export const TOPIC_NAME = /^[A-Za-z0-9]([A-Za-z0-9_.-]{0,61}[A-Za-z0-9])?$/;

const schema = z.strictObject({
  topics: z.array(
    z.strictObject({
      name: z.string().regex(TOPIC_NAME, {
        message:
          "must be 1 to 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit",
      }),
      configs: z.array(z.string()).min(1, { message: "must list at least one manifest file" }),
    }),
  ),
});

/** Parses and checks the config file text; returns the topics or every problem found. */
export function parseTopicConfig(
  text: string,
): { topics: TopicConfig[]; problems: [] } | { topics?: undefined; problems: ConfigProblem[] } {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    return { problems: [{ path: "", message: `not valid JSON: ${(error as Error).message}` }] };
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    return {
      problems: parsed.error.issues.map((issue) => ({
        path: jsonPath(issue.path),
        message: issueMessage(issue),
      })),
    };
  }
  const problems: ConfigProblem[] = [];
  const seen = new Map<string, number>();
  parsed.data.topics.forEach((topic, i) => {
    const first = seen.get(topic.name);
    if (first !== undefined) {
      problems.push({
        path: `topics[${i}].name`,
        message: `duplicate topic name "${topic.name}" (also at topics[${first}])`,
      });
    } else seen.set(topic.name, i);
    topic.configs.forEach((path, j) => {
      const problem = manifestPathProblem(path);
      if (problem) problems.push({ path: `topics[${i}].configs[${j}]`, message: problem });
    });
  });
  if (problems.length > 0) return { problems };
  return {
    topics: parsed.data.topics.map((t) => ({
      name: t.name,
      configs: t.configs.map(normalizePath),
    })),
    problems: [],
  };
}

/** Why a manifest path cannot be used, or undefined when it is fine. */
export function manifestPathProblem(path: string): string | undefined {
  if (path.trim() === "") return "the manifest path is empty";
  if (path.startsWith("/") || /^[A-Za-z]:[\\/]/.test(path)) {
    return `"${path}" is absolute: manifest paths are relative to the repository root`;
  }
  if (path.includes("\\")) return `"${path}" contains a backslash: use '/' between folders`;
  if (normalizePath(path).split("/").some((part) => part === "..")) {
    return `"${path}" escapes the repository with '..'`;
  }
  return undefined;
}

function normalizePath(path: string): string {
  return path.split("/").filter((part) => part !== "" && part !== ".").join("/");
}

function jsonPath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const key of path) {
    if (typeof key === "number") out += `[${key}]`;
    else out += out ? `.${String(key)}` : String(key);
  }
  return out;
}

function issueMessage(issue: z.core.$ZodIssue): string {
  if (issue.code === "unrecognized_keys") {
    return `unknown key${issue.keys.length > 1 ? "s" : ""} ${
      issue.keys.map((k) => `"${k}"`).join(", ")
    }`;
  }
  if (issue.code === "invalid_type" && issue.message.includes("undefined")) {
    return `missing (expected ${issue.expected})`;
  }
  return issue.message;
}
