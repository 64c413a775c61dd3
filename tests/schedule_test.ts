import fc from "fast-check";
import { assert, assertEquals } from "./support/assert.ts";
import {
  lastTick,
  nextTick,
  parseDuration,
  parseSchedule,
  type Schedule,
  tickKey,
} from "../src/schedule/schedule.ts";

function parsed(text: string, timeZone?: string): Schedule {
  const schedule = parseSchedule(text, { timeZone });
  if ("problem" in schedule) throw new Error(schedule.problem);
  return schedule;
}

Deno.test("cron in UTC and in a time zone", () => {
  const at = new Date("2026-03-01T10:02:00Z");
  assertEquals(nextTick(parsed("*/5 * * * *"), at).toISOString(), "2026-03-01T10:05:00.000Z");
  // 09:00 in New York on a winter weekday is 14:00 UTC.
  assertEquals(
    nextTick(parsed("0 9 * * 1-5", "America/New_York"), at).toISOString(),
    "2026-03-02T14:00:00.000Z",
  );
  assertEquals(lastTick(parsed("*/5 * * * *"), at).toISOString(), "2026-03-01T10:00:00.000Z");
  // A tick exactly now is the last tick.
  assertEquals(
    lastTick(parsed("*/5 * * * *"), new Date("2026-03-01T10:05:00Z")).toISOString(),
    "2026-03-01T10:05:00.000Z",
  );
});

Deno.test("@every ticks on multiples of its period, the same on every replica", () => {
  const every = parsed("@every 2s");
  assertEquals(nextTick(every, new Date(1001)).getTime(), 2000);
  assertEquals(nextTick(every, new Date(2000)).getTime(), 4000);
  assertEquals(lastTick(every, new Date(3999)).getTime(), 2000);
  fc.assert(fc.property(fc.integer({ min: 0, max: 2 ** 40 }), (t) => {
    const next = nextTick(every, new Date(t)).getTime();
    assert(next > t && next - t <= 2000 && next % 2000 === 0);
  }));
});

Deno.test("bad schedules are refused with a sentence that says what to write", () => {
  for (
    const [text, zone, part] of [
      ["* * * *", undefined, "five-field"],
      ["* * * * * *", undefined, "five-field"],
      ["61 * * * *", undefined, "61"],
      ["@every 500ms", undefined, "at least 1s"],
      ["@every soon", undefined, "@every <duration>"],
      ["0 0 * * *", "Nowhere/Land", "unknown time zone"],
      ["@every 5m", "UTC", "timeZone"],
    ] as const
  ) {
    const result = parseSchedule(text, { timeZone: zone });
    assert("problem" in result, text);
    assert(result.problem.includes(part), `${text}: ${result.problem}`);
  }
});

Deno.test("durations and tick keys", () => {
  assertEquals(parseDuration("1h30m"), 5_400_000);
  assertEquals(parseDuration("30s"), 30_000);
  assertEquals(parseDuration("5"), undefined);
  assertEquals(tickKey("collect", new Date(0)), "schedule:collect:1970-01-01T00:00:00.000Z");
});

import { Scheduler, type TickRecord } from "../src/schedule/scheduler.ts";

function scheduled(name: string, text: string, startingDeadlineSeconds?: number) {
  return { name, schedule: { schedule: parsed(text), startingDeadlineSeconds } };
}

Deno.test("three replicas fire the same ticks with the same keys, each tick once per replica", async () => {
  const fired: string[][] = [[], [], []];
  const schedulers = fired.map((keys) =>
    new Scheduler({
      topics: () => [scheduled("often", "@every 1s")],
      publish: (_topic, key) => {
        keys.push(key);
        return Promise.resolve();
      },
    })
  );
  const started = Date.now();
  await Promise.all(schedulers.map((s) => s.start()));
  await new Promise((resolve) => setTimeout(resolve, 2_600));
  schedulers.forEach((s) => s.stop());
  const ended = Date.now();
  const union = new Set(fired.flat());
  for (const keys of fired) assertEquals(new Set(keys).size, keys.length, "a tick fired twice");
  for (const key of union) {
    const tick = Date.parse(key.slice("schedule:often:".length));
    assert(tick % 1000 === 0 && tick > started && tick <= ended, key);
  }
  // Every tick of the window fired; the last may fall after a replica stopped.
  const ticks = Math.floor(ended / 1000) - Math.floor(started / 1000);
  assert(union.size >= ticks - 1 && union.size <= ticks, `${ticks} ticks: ${[...union]}`);
});

Deno.test("a missed tick runs on return only within its starting deadline and if not recorded", async () => {
  const tick = new Date("2026-03-01T10:00:00Z");
  const now = new Date("2026-03-01T10:00:40Z");
  const record = (last?: Date): TickRecord & { written: string[] } => {
    const written: string[] = [];
    return {
      written,
      lastFired: () => Promise.resolve(last),
      recordFired: (_topic, t) => {
        written.push(t.toISOString());
        return Promise.resolve();
      },
    };
  };
  const run = async (deadline: number | undefined, last?: Date) => {
    const keys: string[] = [];
    const store = record(last);
    const scheduler = new Scheduler({
      topics: () => [scheduled("nightly", "0 10 * * *", deadline)],
      publish: (_topic, key) => {
        keys.push(key);
        return Promise.resolve();
      },
      record: store,
      now: () => now,
    });
    await scheduler.catchUp();
    scheduler.stop();
    return { keys, written: store.written };
  };
  assertEquals(await run(60), {
    keys: [tickKey("nightly", tick)],
    written: [tick.toISOString()],
  });
  assertEquals((await run(30)).keys, [], "past its starting deadline");
  assertEquals((await run(undefined)).keys, [], "no starting deadline: missed ticks are skipped");
  assertEquals((await run(60, tick)).keys, [], "another replica fired it already");
});

Deno.test("a topic removed and added again fires no tick from while it was gone", async () => {
  let now = new Date("2026-03-01T03:00:00.500Z");
  let topics = [scheduled("daily", "0 3 * * *")];
  const keys: string[] = [];
  let reads = 0;
  const scheduler = new Scheduler({
    topics: () => topics,
    publish: (_topic, key) => {
      keys.push(key);
      return Promise.resolve();
    },
    now: () => {
      reads++;
      return now;
    },
    maxSleepMs: 10,
  });
  // Until the scheduler has read the clock a few more times: at least one tick check ran.
  const settle = async () => {
    const target = reads + 4;
    while (reads < target) await new Promise((resolve) => setTimeout(resolve, 5));
  };
  try {
    await scheduler.start();
    await settle();
    // A commit drops the topic; a later one brings it back, the next afternoon.
    topics = [];
    scheduler.refresh();
    await settle();
    now = new Date("2026-03-02T15:00:00Z");
    topics = [scheduled("daily", "0 3 * * *")];
    scheduler.refresh();
    await settle();
    assertEquals(keys, [], "it has no startingDeadlineSeconds: its missed 03:00 tick is skipped");
    now = new Date("2026-03-03T03:00:00.001Z");
    await settle();
    assertEquals(keys, [tickKey("daily", new Date("2026-03-03T03:00:00Z"))]);
  } finally {
    scheduler.stop();
  }
});
