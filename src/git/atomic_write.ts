/**
 * Files in the clone cache appear whole or not at all: each is written to a temporary name in
 * the same folder, flushed to disk, then renamed over its real name (a rename within one
 * filesystem is atomic). A crash at any moment leaves either the old file, the new one, or a
 * temporary file that the cache's check at start removes.
 * @module
 */

/** Names of temporary files in the cache start with this. */
export const TEMPORARY_PREFIX = "tmp_gitfaas_";

/** A temporary path next to `path`. */
export function temporaryPath(path: string): string {
  const slash = path.lastIndexOf("/");
  return `${path.slice(0, slash + 1)}${TEMPORARY_PREFIX}${crypto.randomUUID()}`;
}

/** Writes `bytes` to `path` atomically (see the module doc). */
export async function writeFileAtomic(path: string, bytes: Uint8Array): Promise<void> {
  const temporary = temporaryPath(path);
  try {
    const file = await Deno.open(temporary, { write: true, createNew: true });
    try {
      await writeAll(file, bytes);
      await file.syncData();
    } finally {
      file.close();
    }
    await Deno.rename(temporary, path);
  } catch (error) {
    await Deno.remove(temporary).catch(() => undefined);
    throw error;
  }
}

/** Writes all of `bytes` (a single write may take only part). */
export async function writeAll(file: Deno.FsFile, bytes: Uint8Array): Promise<void> {
  for (let written = 0; written < bytes.length;) {
    written += await file.write(bytes.subarray(written));
  }
}
