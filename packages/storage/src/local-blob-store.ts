import { createReadStream } from "node:fs";
import { lstat, mkdir, opendir, rename, rm, rmdir, stat, writeFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { assertSafeKey, BlobStoreUnavailableError, contentTypeOfKey, type BlobStore } from "./blob-store.ts";

/** A folder emptied by a sweep is removed by a later one, once it has stood untouched this long. */
const EMPTY_FOLDER_GRACE_MS = 60_000;

/** Blobs as files under `root` (DATA_DIR/blobs), written atomically (temp file + rename). */
export function createLocalBlobStore(root: string): BlobStore {
  const base = resolve(root);
  const pathOf = (key: string) => {
    assertSafeKey(key);
    return join(base, key);
  };
  const write = async (path: string, data: Buffer | string) => {
    await mkdir(dirname(path), { recursive: true });
    const tmp = `${path}.${process.pid}.${Date.now()}.tmp`;
    await writeFile(tmp, data);
    await rename(tmp, path);
  };
  return {
    async put(key, data) {
      const path = pathOf(key);
      // A retention sweep may remove an old, empty folder between mkdir and write: make it again once.
      await write(path, data).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== "ENOENT") throw err;
        return write(path, data);
      });
    },
    async get(key) {
      const path = pathOf(key);
      const info = await stat(path).catch((err: NodeJS.ErrnoException) => {
        if (err.code === "ENOENT" || err.code === "ENOTDIR") return null;
        throw new BlobStoreUnavailableError(err);
      });
      if (!info?.isFile()) return null;
      return { body: createReadStream(path), size: info.size, contentType: contentTypeOfKey(key) };
    },
    async delete(key) {
      await rm(pathOf(key), { force: true });
    },
    async deleteOlderThan(cutoff) {
      return sweepFolder(base, cutoff.getTime(), Date.now() - EMPTY_FOLDER_GRACE_MS, true);
    },
    async close() {},
  };
}

/**
 * Deletes the files under `dir` modified before `cutoffMs` (left-over temp files of an interrupted
 * write too), folder by folder without listing the whole tree at once, and removes sub-folders that
 * were already empty and untouched since `emptyBeforeMs` (a folder this sweep empties has just been
 * modified, so it goes on a later sweep; a write racing that removal makes its folder again).
 */
async function sweepFolder(dir: string, cutoffMs: number, emptyBeforeMs: number, isRoot: boolean): Promise<number> {
  let deleted = 0;
  let entries = 0;
  const folder = await opendir(dir).catch((err: NodeJS.ErrnoException) => {
    if (err.code === "ENOENT" || err.code === "ENOTDIR") return null;
    throw err;
  });
  if (!folder) return 0;
  for await (const entry of folder) {
    entries += 1;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      deleted += await sweepFolder(path, cutoffMs, emptyBeforeMs, false);
      continue;
    }
    const info = await lstat(path).catch(() => null);
    if (info && info.mtimeMs < cutoffMs) {
      await rm(path, { force: true });
      deleted += 1;
    }
  }
  if (!isRoot && entries === 0) {
    const info = await lstat(dir).catch(() => null);
    if (info && info.mtimeMs < emptyBeforeMs) await rmdir(dir).catch(() => undefined);
  }
  return deleted;
}
