/**
 * The topic config file (`config.json`): which manifest templates each topic applies.
 * Validation names the JSON path of every problem, so a bad commit is easy to fix.
 * @module
 */

import { z } from "zod";
import { parseSchedule, type Schedule } from "../schedule/schedule.ts";

/** One topic as written in the config file. */
export interface TopicConfig {
  name: string;
  /** Manifest paths, relative to the repository root. */
  configs: string[];
  /** When set, the topic is also published at each tick of this schedule. */
  schedule?: TopicSchedule;
}

/** A topic's schedule as the config file gives it, parsed. */
export interface TopicSchedule {
  schedule: Schedule;
  /** A tick missed while no replica ran is published on return if at most this old. */
  startingDeadlineSeconds?: number;
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

/** The file: a list of topics, nothing else. Each topic is checked on its own. */
const fileSchema = z.strictObject({ topics: z.array(z.unknown()) });

const topicSchema = z.strictObject({
  name: z.string().regex(TOPIC_NAME, {
    message:
      "must be 1 to 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit",
  }),
  configs: z.array(z.string()).min(1, { message: "must list at least one manifest file" }),
  schedule: z.string().optional(),
  timeZone: z.string().optional(),
  startingDeadlineSeconds: z.number().int().min(1).optional(),
});

/** The topics of a config file, and every problem found in it. */
export interface ParsedConfig {
  /**
   * The topics, when `problems` is empty. Otherwise the file cannot serve, and these are the
   * entries whose manifest files can still be checked (names may be invalid or repeated), so
   * that one pass reports the problems of the files as well as those of the config.
   */
  topics: TopicConfig[];
  problems: ConfigProblem[];
}

/** Parses and checks the config file text: its topics, and every problem found. */
export function parseTopicConfig(text: string): ParsedConfig {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    return {
      topics: [],
      problems: [{ path: "", message: `not valid JSON: ${(error as Error).message}` }],
    };
  }
  const problems: ConfigProblem[] = [];
  const issues = (prefix: PropertyKey[], error: z.ZodError) => {
    for (const issue of error.issues) {
      problems.push({ path: jsonPath([...prefix, ...issue.path]), message: issueMessage(issue) });
    }
  };
  const file = fileSchema.safeParse(json);
  if (!file.success) issues([], file.error);
  const entries: unknown[] = Array.isArray((json as { topics?: unknown })?.topics)
    ? (json as { topics: unknown[] }).topics
    : [];

  const topics: TopicConfig[] = [];
  const seen = new Map<string, number>();
  entries.forEach((entry, i) => {
    const topic = topicSchema.safeParse(entry);
    if (!topic.success) issues(["topics", i], topic.error);
    const name = topic.success ? topic.data.name : `topics[${i}]`;
    const first = seen.get(name);
    if (topic.success && first !== undefined) {
      problems.push({
        path: `topics[${i}].name`,
        message: `duplicate topic name "${name}" (also at topics[${first}])`,
      });
    } else seen.set(name, i);
    // The files of an entry that is wrong elsewhere are still checked (see ParsedConfig).
    const listed = (entry as { configs?: unknown })?.configs;
    const configs: string[] = [];
    (Array.isArray(listed) ? listed : []).forEach((path, j) => {
      if (typeof path !== "string") return;
      const problem = manifestPathProblem(path);
      if (problem) problems.push({ path: `topics[${i}].configs[${j}]`, message: problem });
      else configs.push(normalizePath(path));
    });
    const schedule = topic.success ? scheduleOf(topic.data, i, problems) : undefined;
    if (configs.length > 0) topics.push({ name, configs, ...(schedule ? { schedule } : {}) });
  });
  return { topics, problems };
}

/** A topic's schedule, parsed; a problem (with its JSON path) when it is wrong. */
function scheduleOf(
  topic: { schedule?: string; timeZone?: string; startingDeadlineSeconds?: number },
  i: number,
  problems: ConfigProblem[],
): TopicSchedule | undefined {
  if (topic.schedule === undefined) {
    for (const key of ["timeZone", "startingDeadlineSeconds"] as const) {
      if (topic[key] !== undefined) {
        problems.push({ path: `topics[${i}].${key}`, message: `needs a "schedule"` });
      }
    }
    return undefined;
  }
  const schedule = parseSchedule(topic.schedule, { timeZone: topic.timeZone });
  if ("problem" in schedule) {
    problems.push({ path: `topics[${i}].schedule`, message: schedule.problem });
    return undefined;
  }
  const deadline = topic.startingDeadlineSeconds;
  return { schedule, ...(deadline === undefined ? {} : { startingDeadlineSeconds: deadline }) };
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
