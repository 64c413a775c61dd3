/**
 * Publishes scheduled topics at their ticks. Every replica runs one and fires every tick; each
 * tick's publish carries the tick's Idempotency-Key, so the API server keeps exactly one set of
 * objects however many replicas fire it. A tick missed while no replica ran is published once
 * on return when it is within the topic's `startingDeadlineSeconds`, and newer than the last
 * tick any replica recorded (like the CronJob controller's `lastScheduleTime`).
 * @module
 */

import type { Logger } from "../log/logger.ts";
import { silentLogger } from "../log/logger.ts";
import type { TopicSchedule } from "../topics/config_file.ts";
import { lastTick, nextTick, tickKey } from "./schedule.ts";

/** A scheduled topic of the live index. */
export interface ScheduledTopic {
  name: string;
  schedule?: TopicSchedule;
}

/** Where the last fired tick of each topic is kept, shared by the replicas. */
export interface TickRecord {
  lastFired(topic: string): Promise<Date | undefined>;
  recordFired(topic: string, tick: Date): Promise<void>;
}

/** What the scheduler needs. */
export interface SchedulerOptions {
  /** The scheduled topics of the live index (read at every tick). */
  topics: () => Iterable<ScheduledTopic>;
  /** Publishes `topic` with `idempotencyKey`; rejects when the publish failed. */
  publish: (topic: string, idempotencyKey: string) => Promise<void>;
  record?: TickRecord;
  now?: () => Date;
  /** Longest sleep between checks, so an index change is seen soon (default 30 s). */
  maxSleepMs?: number;
  logger?: Logger;
}

/** Fires the ticks of scheduled topics until stopped. */
export class Scheduler {
  readonly #options: SchedulerOptions;
  readonly #logger: Logger;
  /** The newest tick this replica has fired per topic (so a tick fires once here). */
  readonly #fired = new Map<string, number>();
  #timer: ReturnType<typeof setTimeout> | undefined;
  #stopped = false;
  #started = false;

  /** A scheduler over `options.topics()`. Call {@linkcode start}. */
  constructor(options: SchedulerOptions) {
    this.#options = options;
    this.#logger = options.logger ?? silentLogger;
  }

  /** Catches up missed ticks, then fires every tick as it comes. */
  async start(): Promise<void> {
    if (this.#started) return;
    this.#started = true;
    await this.catchUp();
    this.#arm();
  }

  /** Re-reads the topics at once (after an index change). */
  refresh(): void {
    if (!this.#started || this.#stopped) return;
    this.catchUp().finally(() => this.#arm());
  }

  /** Stops firing. */
  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
  }

  /** The next tick of every scheduled topic, ISO, for `/topics` and `/status`. */
  nextTicks(): Record<string, string> {
    const now = this.#now();
    const ticks: Record<string, string> = {};
    for (const topic of this.#scheduled()) {
      ticks[topic.name] = nextTick(topic.schedule.schedule, now).toISOString();
    }
    return ticks;
  }

  /** Publishes each topic's latest missed tick when it is within its starting deadline. */
  async catchUp(): Promise<void> {
    const now = this.#now();
    const scheduled = [...this.#scheduled()];
    this.#forgetGone(scheduled);
    await Promise.all(scheduled.map(async (topic) => {
      const deadline = topic.schedule.startingDeadlineSeconds;
      const tick = lastTick(topic.schedule.schedule, now);
      if (this.#fired.has(topic.name)) return;
      this.#fired.set(topic.name, tick.getTime());
      if (deadline === undefined || now.getTime() - tick.getTime() > deadline * 1000) return;
      const recorded = await this.#options.record?.lastFired(topic.name).catch(() => undefined);
      if (recorded && recorded.getTime() >= tick.getTime()) return;
      if (!this.#options.record && now.getTime() !== tick.getTime()) return;
      await this.#fire(topic.name, tick, "missed tick");
    }));
  }

  #arm(): void {
    if (this.#stopped) return;
    clearTimeout(this.#timer);
    const now = this.#now();
    let wake = now.getTime() + (this.#options.maxSleepMs ?? 30_000);
    for (const topic of this.#scheduled()) {
      wake = Math.min(wake, nextTick(topic.schedule.schedule, now).getTime());
    }
    this.#timer = setTimeout(() => this.#tick(), Math.max(0, wake - now.getTime()));
  }

  #tick(): void {
    const now = this.#now();
    const due: Promise<void>[] = [];
    const scheduled = [...this.#scheduled()];
    this.#forgetGone(scheduled);
    for (const topic of scheduled) {
      const tick = lastTick(topic.schedule.schedule, now).getTime();
      const fired = this.#fired.get(topic.name);
      if (fired === undefined) {
        // A topic new to this replica: its past ticks are not its to fire.
        this.#fired.set(topic.name, tick);
        continue;
      }
      if (tick <= fired) continue;
      this.#fired.set(topic.name, tick);
      due.push(this.#fire(topic.name, new Date(tick), "tick"));
    }
    Promise.all(due).finally(() => this.#arm());
  }

  async #fire(topic: string, tick: Date, why: string): Promise<void> {
    const key = tickKey(topic, tick);
    try {
      await this.#options.publish(topic, key);
      this.#logger.info(`scheduled publish (${why})`, { topic, tick: tick.toISOString() });
      await this.#options.record?.recordFired(topic, tick).catch((error) =>
        this.#logger.warn("cannot record a scheduled tick", { topic, error: String(error) })
      );
    } catch (error) {
      this.#logger.warn(`scheduled publish failed (${why})`, {
        topic,
        tick: tick.toISOString(),
        error: String((error as Error).message ?? error),
      });
    }
  }

  /**
   * Forgets the topics no longer scheduled, so one that comes back is new again: the ticks it
   * missed while gone are caught up within its starting deadline like any missed tick, not
   * fired however old they are.
   */
  #forgetGone(scheduled: readonly { name: string }[]): void {
    const names = new Set(scheduled.map((topic) => topic.name));
    for (const name of this.#fired.keys()) if (!names.has(name)) this.#fired.delete(name);
  }

  *#scheduled(): Generator<{ name: string; schedule: TopicSchedule }> {
    for (const topic of this.#options.topics()) {
      if (topic.schedule) yield { name: topic.name, schedule: topic.schedule };
    }
  }

  #now(): Date {
    return this.#options.now?.() ?? new Date();
  }
}
