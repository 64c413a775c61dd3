/**
 * Topic schedules: a five-field cron expression (in UTC or a named time zone) or `@every
 * <duration>`. Pure: every replica computes the same ticks from the same schedule, so each tick
 * names one request (its Idempotency-Key) and the API server keeps exactly one of them.
 * @module
 */

import { CronExpressionParser } from "cron-parser";

/** A parsed schedule. */
export type Schedule =
  | { kind: "cron"; expression: string; timeZone: string }
  | { kind: "every"; everyMs: number; text: string };

/** The shortest `@every` period: a tick per second at most. */
export const MIN_EVERY_MS = 1000;

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/**
 * Parses `schedule` (with `timeZone`, default UTC), or returns the problem as a sentence a
 * pipeline author can act on.
 */
export function parseSchedule(
  schedule: string,
  options: { timeZone?: string } = {},
): Schedule | { problem: string } {
  const text = schedule.trim();
  if (text.startsWith("@every")) {
    if (options.timeZone !== undefined) {
      return { problem: `"timeZone" applies to cron expressions, not to "${text}"` };
    }
    const everyMs = parseDuration(text.slice("@every".length).trim());
    if (everyMs === undefined) {
      return {
        problem: `"${text}": write "@every <duration>", such as "@every 30s" or "@every 5m"`,
      };
    }
    if (everyMs < MIN_EVERY_MS) return { problem: `"${text}": the period must be at least 1s` };
    return { kind: "every", everyMs, text };
  }
  const fields = text.split(/\s+/);
  if (fields.length !== 5) {
    return {
      problem: `"${text}": a schedule is a five-field cron expression (minute hour day-of-month ` +
        `month day-of-week) or "@every <duration>"`,
    };
  }
  const timeZone = options.timeZone ?? "UTC";
  if (!isTimeZone(timeZone)) return { problem: `unknown time zone "${timeZone}"` };
  try {
    CronExpressionParser.parse(text, { tz: timeZone, strict: false }).next();
  } catch (error) {
    return { problem: `"${text}": ${(error as Error).message}` };
  }
  return { kind: "cron", expression: text, timeZone };
}

/** The first tick strictly after `after`. */
export function nextTick(schedule: Schedule, after: Date): Date {
  if (schedule.kind === "every") {
    const period = schedule.everyMs;
    return new Date((Math.floor(after.getTime() / period) + 1) * period);
  }
  return CronExpressionParser.parse(schedule.expression, {
    tz: schedule.timeZone,
    currentDate: after,
  }).next().toDate();
}

/** The last tick at or before `atOrBefore`. */
export function lastTick(schedule: Schedule, atOrBefore: Date): Date {
  if (schedule.kind === "every") {
    const period = schedule.everyMs;
    return new Date(Math.floor(atOrBefore.getTime() / period) * period);
  }
  // cron-parser's prev() is strictly before its current date: start 1 ms later.
  return CronExpressionParser.parse(schedule.expression, {
    tz: schedule.timeZone,
    currentDate: new Date(atOrBefore.getTime() + 1),
  }).prev().toDate();
}

/**
 * The Idempotency-Key of a topic's tick: the same on every replica, like the CronJob
 * controller naming each Job after its scheduled time.
 */
export function tickKey(topic: string, tick: Date): string {
  return `schedule:${topic}:${tick.toISOString()}`;
}

/** `30s`, `5m`, `1h30m`, `500ms` → milliseconds, or undefined. */
export function parseDuration(text: string): number | undefined {
  if (!/^(\d+(ms|s|m|h))+$/.test(text)) return undefined;
  let total = 0;
  for (const [, amount, unit] of text.matchAll(/(\d+)(ms|s|m|h)/g)) {
    total += Number(amount) * UNITS[unit];
  }
  return total;
}

function isTimeZone(name: string): boolean {
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: name });
    return true;
  } catch {
    return false;
  }
}
