/**
 * The delivery ids seen lately, so a delivery sent again (a provider's retry, or a replay of a
 * captured one) is answered without acting twice. Memory is bounded both by count and by age.
 * @module
 */

/** Options for {@linkcode ReplayCache}. */
export interface ReplayCacheOptions {
  /** Most ids kept; the oldest go first. Default 10,000. */
  maxEntries?: number;
  /** How long an id is remembered, in milliseconds. Default 24 hours. */
  ttlMs?: number;
  /** The clock, in milliseconds (tests). Default `Date.now`. */
  now?: () => number;
}

/** Ids seen within the window, oldest first. */
export class ReplayCache {
  readonly #seen = new Map<string, number>();
  readonly #maxEntries: number;
  readonly #ttlMs: number;
  readonly #now: () => number;

  /** An empty cache. */
  constructor(options: ReplayCacheOptions = {}) {
    this.#maxEntries = options.maxEntries ?? 10_000;
    this.#ttlMs = options.ttlMs ?? 24 * 60 * 60 * 1000;
    this.#now = options.now ?? Date.now;
  }

  /** How many ids are remembered now. */
  get size(): number {
    this.#expire();
    return this.#seen.size;
  }

  /**
   * Records `id` and returns true when it is new; returns false, changing nothing, when it was
   * seen within the window.
   */
  remember(id: string): boolean {
    this.#expire();
    if (this.#seen.has(id)) return false;
    this.#seen.set(id, this.#now());
    while (this.#seen.size > this.#maxEntries) {
      this.#seen.delete(this.#seen.keys().next().value!);
    }
    return true;
  }

  /** Map keeps insertion order, which is time order: expired ids are all at the front. */
  #expire(): void {
    const oldest = this.#now() - this.#ttlMs;
    for (const [id, at] of this.#seen) {
      if (at > oldest) break;
      this.#seen.delete(id);
    }
  }
}
