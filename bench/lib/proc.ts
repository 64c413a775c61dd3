/**
 * Process memory from `/proc` (Linux): resident set size now (`VmRSS`) and at its peak
 * (`VmHWM`), in MB, and finding a child process by its command line.
 * @module
 */

/** Resident memory of a process, in MB (1 MB = 2^20 bytes). */
export interface Memory {
  rssMB: number;
  peakRssMB: number;
}

/** `VmRSS` and `VmHWM` of `pid` (default: this process). */
export function memoryOf(pid: number | "self" = "self"): Memory {
  const status = Deno.readTextFileSync(`/proc/${pid}/status`);
  const kb = (field: string) =>
    Number(new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status)?.[1]);
  return { rssMB: mb(kb("VmRSS")), peakRssMB: mb(kb("VmHWM")) };
}

function mb(kb: number): number {
  return Math.round((kb / 1024) * 10) / 10;
}

/** The pid of a child of this process whose command line contains `needle`. */
export function findChild(needle: string): number | undefined {
  return findChildren(needle)[0];
}

/** The pids of every child of this process whose command line contains `needle`. */
export function findChildren(needle: string): number[] {
  const found: number[] = [];
  for (const entry of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    try {
      const status = Deno.readTextFileSync(`/proc/${entry.name}/status`);
      if (Number(/^PPid:\s+(\d+)/m.exec(status)?.[1]) !== Deno.pid) continue;
      const cmdline = Deno.readTextFileSync(`/proc/${entry.name}/cmdline`).split("\0");
      if (cmdline.some((arg) => arg.includes(needle))) found.push(Number(entry.name));
    } catch {
      // The process ended while we looked.
    }
  }
  return found;
}

const TICKS_PER_SECOND = 100;

/**
 * CPU time (user + system, in ms) `pid` has used, including the children it has waited for
 * (so a server's `kubectl` subprocesses count).
 */
export function cpuMsOf(pid: number | "self" = "self"): number {
  const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
  // Fields after the command name, which is in parentheses and may contain spaces.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const ticks = [11, 12, 13, 14].reduce((sum, i) => sum + Number(fields[i]), 0);
  return (ticks * 1000) / TICKS_PER_SECOND;
}
