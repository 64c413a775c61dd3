/**
 * Loopback ports a test server can give up and take back.
 *
 * A server that closes its listener and later reopens it on the same port (the Git server's
 * "down" fault) must be sure nobody took the port in between. A port the kernel chose for
 * `bind(0)` lies in its ephemeral range, which it hands out again to every other `bind(0)` and
 * outgoing connection on the machine: other test files, other test runs, anything. Ports below
 * that range are never handed out on their own, so only a process that asks for one by number
 * can take it; among test servers, a port is claimed by an exclusive lock on a file named after
 * it, which the kernel drops with the process if it dies.
 *
 * @module
 */

/** Linux's default ephemeral range, also below the IANA range (49152–65535) other systems use. */
const DEFAULT_EPHEMERAL: [number, number] = [32768, 60999];
/** The lowest port handed out here: clear of the well-known ports most services listen on. */
const LOWEST = 20000;
const CLAIMS_DIR = `${Deno.env.get("TMPDIR") ?? "/tmp"}/gitfaas-test-ports`;

/** The kernel's ephemeral port range, `[low, high]`. */
export function ephemeralPortRange(): [number, number] {
  try {
    const text = Deno.readTextFileSync("/proc/sys/net/ipv4/ip_local_port_range");
    const [low, high] = text.trim().split(/\s+/).map(Number);
    if (Number.isInteger(low) && Number.isInteger(high)) return [low, high];
  } catch {
    // Not Linux, or /proc not readable: assume the default.
  }
  return DEFAULT_EPHEMERAL;
}

/** The ports {@linkcode PortClaim.any} picks from, `[low, high]`: below the ephemeral range. */
export function claimablePortRange(): [number, number] {
  const [low] = ephemeralPortRange();
  if (low - 1 - LOWEST < 1000) {
    throw new Error(
      `the ephemeral port range starts at ${low}: too few ports below it for test servers`,
    );
  }
  return [LOWEST, low - 1];
}

/** A port held by this process until {@linkcode PortClaim.release}. */
export class PortClaim {
  readonly port: number;
  readonly #path: string;
  readonly #file: Deno.FsFile;

  private constructor(port: number, path: string, file: Deno.FsFile) {
    this.port = port;
    this.#path = path;
    this.#file = file;
  }

  /** Claims `port`, or returns undefined when another test server holds it. */
  static claim(port: number): PortClaim | undefined {
    Deno.mkdirSync(CLAIMS_DIR, { recursive: true });
    const path = `${CLAIMS_DIR}/${port}.lock`;
    const file = Deno.openSync(path, { read: true, write: true, create: true });
    try {
      // The file may have been released (unlinked) between our open and our lock: the lock
      // only counts if it is on the file the path names now.
      if (file.tryLockSync(true) && sameFile(file, path)) return new PortClaim(port, path, file);
    } catch (error) {
      file.close();
      throw error;
    }
    file.close();
    return undefined;
  }

  /** Claims a random free port of {@linkcode claimablePortRange}. */
  static any(): PortClaim {
    const [low, high] = claimablePortRange();
    for (let attempt = 0; attempt < 1000; attempt++) {
      const claim = PortClaim.claim(low + Math.floor(Math.random() * (high - low + 1)));
      if (claim) return claim;
    }
    throw new Error(`no port of ${low}–${high} could be claimed in 1,000 attempts`);
  }

  /** Gives the port up; call once nothing listens on it any more. */
  release(): void {
    // Unlinked before the lock goes, so a claim that opened this file fails its check.
    try {
      Deno.removeSync(this.#path);
    } catch {
      // Already gone: nothing to clean.
    }
    this.#file.close();
  }
}

function sameFile(file: Deno.FsFile, path: string): boolean {
  try {
    return file.statSync().ino === Deno.statSync(path).ino;
  } catch {
    return false;
  }
}
