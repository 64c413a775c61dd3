/**
 * The build under way, recorded in DATA_DIR. A commit whose fetch or index build kills the
 * process (out of memory, or a kill by the kubelet) would otherwise be fetched and built again
 * by every restart, and take the router down every time. Each build is recorded before it starts
 * and cleared when it ends, whatever its outcome; a record still there when a process starts
 * names a commit that stopped the previous one, and the syncer does not build it again.
 * @module
 */

import { join } from "node:path";

/** Where the syncer records the build under way. */
export interface BuildJournal {
  /**
   * The revision whose build an earlier process started and never finished, if any. Asked once,
   * before the first build.
   */
  crashed(): Promise<string | undefined>;
  /** Records that `revision` is about to be fetched and built (on disk when this resolves). */
  begin(revision: string): Promise<void>;
  /** Records that the build ended, whatever its outcome. */
  end(): Promise<void>;
}

/**
 * A {@linkcode BuildJournal} in two files of `dir`: `gitfaas-building` while a build runs, and
 * `gitfaas-crashed`, the building record a process found left behind at its start. The crashed
 * record stays until another crash replaces it, so the commit is not built again after later
 * restarts either; a new commit on the branch is built as usual.
 */
export class FileBuildJournal implements BuildJournal {
  readonly #building: string;
  readonly #crashed: string;

  /** A journal in `dir` (created if missing). */
  constructor(readonly dir: string) {
    this.#building = join(dir, "gitfaas-building");
    this.#crashed = join(dir, "gitfaas-crashed");
  }

  async crashed(): Promise<string | undefined> {
    await removeLeftovers(this.dir);
    try {
      // One rename: the record of the build that never ended becomes the crashed record.
      await Deno.rename(this.#building, this.#crashed);
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
    try {
      return (await Deno.readTextFile(this.#crashed)).trim() || undefined;
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return undefined;
      throw error;
    }
  }

  async begin(revision: string): Promise<void> {
    await Deno.mkdir(this.dir, { recursive: true });
    // Written whole, then renamed over the old record: a process killed at any moment leaves
    // either the previous record or this one, never part of one. No fsync: the record guards
    // against the process dying, not the machine, and the page cache outlives the process.
    const temporary = `${this.#building}.${crypto.randomUUID()}.tmp`;
    try {
      await Deno.writeTextFile(temporary, `${revision}\n`);
      await Deno.rename(temporary, this.#building);
    } catch (error) {
      await Deno.remove(temporary).catch(() => undefined);
      throw error;
    }
  }

  async end(): Promise<void> {
    try {
      await Deno.remove(this.#building);
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
  }
}

/** Temporary records of a process killed in the middle of writing one. */
async function removeLeftovers(dir: string): Promise<void> {
  try {
    for await (const entry of Deno.readDir(dir)) {
      if (entry.name.startsWith("gitfaas-building.") && entry.name.endsWith(".tmp")) {
        await Deno.remove(join(dir, entry.name)).catch(() => undefined);
      }
    }
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
}
