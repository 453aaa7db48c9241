// ~/.forward, as forward(5) has it: one entry per line (or comma-separated), `#`
// comments. It is ignored, with a log line, unless it is a regular file owned by its
// user and neither group- nor world-writable, in a home that is not group- or
// world-writable: otherwise someone else could run commands as that user. A link is not
// followed.

import { constants } from "node:fs";
import { type FileHandle, open } from "node:fs/promises";
import type { Logger } from "../log/mod.ts";
import { splitValues } from "../tables/mod.ts";
import type { DeliveryUser } from "./expand.ts";

/** Looking for a file on every delivery costs a system call: an answer is kept this long. */
export const FORWARD_KEPT_MS = 2000;
const cache = new Map<string, { at: number; entries: string[] | undefined }>();

/** The entries of the user's ~/.forward, or undefined when there is none or it is unsafe. */
export async function readForwardFile(
  user: DeliveryUser,
  log: Logger,
  options: { readonly fresh?: boolean } = {},
): Promise<string[] | undefined> {
  if (!user.home || user.home === "/") return undefined;
  const path = `${user.home}/.forward`;
  const cached = cache.get(path);
  const now = Date.now();
  if (!options.fresh && cached && now - cached.at < FORWARD_KEPT_MS) return cached.entries;
  const entries = await read(path, user, log);
  cache.set(path, { at: now, entries });
  return entries;
}

// The file is checked on the open file (fstat), not by name: checked by name and then
// read, it could be replaced between the two by a link to a file only root may read, and
// the parent reads it as root. It is opened without following a link, too (a runtime
// with narrowed file permissions resolves the link itself before it opens: the checks on
// the open file are what holds).
async function read(path: string, user: DeliveryUser, log: Logger): Promise<string[] | undefined> {
  let file: FileHandle;
  try {
    file = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code === "ENOENT" || code === "ENOTDIR") return undefined; // No .forward.
    if (code === "ELOOP") {
      log.warn(`delivery: ignoring ${path}: a symbolic link`);
      return undefined;
    }
    throw error;
  }
  const refuse = (why: string) => {
    log.warn(`delivery: ignoring ${path}: ${why}`);
    return undefined;
  };
  try {
    const info = await file.stat();
    if (!info.isFile()) return refuse("not a regular file");
    if (info.uid !== user.uid) return refuse(`owned by uid ${info.uid}, not by ${user.name}`);
    if (info.mode & 0o022) return refuse("group- or world-writable");
    try {
      const home = await Deno.stat(user.home);
      if ((home.mode ?? 0) & 0o022) return refuse(`${user.home} is group- or world-writable`);
    } catch {
      return undefined;
    }
    const text = await file.readFile({ encoding: "utf8" });
    const entries = text.split("\n")
      .map((line) => line.trim())
      .filter((line) => line !== "" && !line.startsWith("#"))
      .flatMap(splitValues);
    return entries.length > 0 ? entries : undefined;
  } finally {
    await file.close();
  }
}
