// ~/.forward, as forward(5) has it: one entry per line (or comma-separated), `#`
// comments. It is ignored, with a log line, unless it is a regular file owned by its
// user and neither group- nor world-writable, in a home that is not group- or
// world-writable: otherwise someone else could run commands as that user.

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

async function read(path: string, user: DeliveryUser, log: Logger): Promise<string[] | undefined> {
  let info: Deno.FileInfo;
  try {
    info = await Deno.lstat(path);
  } catch {
    return undefined; // No .forward: plain delivery.
  }
  const refuse = (why: string) => {
    log.warn(`delivery: ignoring ${path}: ${why}`);
    return undefined;
  };
  if (!info.isFile) return refuse("not a regular file");
  if (info.uid !== user.uid) return refuse(`owned by uid ${info.uid}, not by ${user.name}`);
  if ((info.mode ?? 0) & 0o022) return refuse("group- or world-writable");
  try {
    const home = await Deno.stat(user.home);
    if ((home.mode ?? 0) & 0o022) return refuse(`${user.home} is group- or world-writable`);
  } catch {
    return undefined;
  }
  const text = await Deno.readTextFile(path);
  const entries = text.split("\n")
    .map((line) => line.trim())
    .filter((line) => line !== "" && !line.startsWith("#"))
    .flatMap(splitValues);
  return entries.length > 0 ? entries : undefined;
}
