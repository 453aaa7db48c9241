// The checks on a mailbox write that comes from a process that reads the network: the
// privileged parent makes them on what the front asks, and a mailbox writer on what the
// front sends it directly. Only plain data of the expected shape is written: absolute
// paths without `..`, an envelope id of hex digits, a folder name without a path.

import type { MailboxRequest, MailboxWriteResult } from "./mailbox_request.ts";
import { MAILDIR_FOLDER_REGEXP } from "./mailbox_request.ts";
import type { HomeMaildir } from "./maildir_home.ts";
import { RefusedRequest } from "./refused_request.ts";

export { RefusedRequest };

/** The error a failed write's result stands for: a refusal when it is permanent. */
export function mailboxWriteError(result: MailboxWriteResult & { error: string }): Error {
  return result.permanent ? new RefusedRequest(result.error) : new Error(result.error);
}

/** A plain string without NUL (and of a sane length). */
export function checkString(value: unknown, what: string, max = 4096): string {
  if (typeof value !== "string" || value.length > max || value.includes("\0")) {
    throw new RefusedRequest(`${what} is not a valid string`);
  }
  return value;
}

/** An absolute path without `..` segments or NUL. */
export function checkPath(value: unknown, what: string): string {
  const path = checkString(value, what);
  if (!path.startsWith("/") || path.split("/").includes("..")) {
    throw new RefusedRequest(`${what} "${path}" is not a plain absolute path`);
  }
  return path;
}

/** A mailbox write: a Maildir or an mbox at a plain absolute path. */
export function checkMailboxRequest(value: unknown): MailboxRequest {
  const request = value as Record<string, unknown> | null;
  if (typeof request !== "object" || request === null) throw new RefusedRequest("no request");
  if (request["kind"] === "maildir") {
    const evpid = checkString(request["evpid"], "the envelope id", 64);
    if (!/^[0-9a-f]+$/.test(evpid)) throw new RefusedRequest(`bad envelope id "${evpid}"`);
    const folder = request["folder"];
    if (
      folder !== undefined &&
      !MAILDIR_FOLDER_REGEXP.test(checkString(folder, "the folder", 256))
    ) {
      throw new RefusedRequest(`bad Maildir folder "${folder}"`);
    }
    const home = request["home"];
    return {
      kind: "maildir",
      dir: checkPath(request["dir"], "the Maildir"),
      ...(folder === undefined ? {} : { folder: folder as string }),
      ...(home === undefined ? {} : { home: checkHomeMaildir(home) }),
      returnPath: checkString(request["returnPath"], "the sender"),
      deliveredTo: checkString(request["deliveredTo"], "the recipient"),
      evpid,
      recovered: request["recovered"] === true,
    };
  }
  if (request["kind"] === "mbox") {
    const deliveredTo = request["deliveredTo"];
    return {
      kind: "mbox",
      path: checkPath(request["path"], "the mbox"),
      sender: checkString(request["sender"], "the sender"),
      ...(deliveredTo === undefined
        ? {}
        : { deliveredTo: checkString(deliveredTo, "the recipient") }),
      ...(request["namedFile"] === true ? { namedFile: true } : {}),
    };
  }
  throw new RefusedRequest("unknown mailbox kind");
}

// The home is only looked at, never written: it needs the shape of the other paths only.
function checkHomeMaildir(value: unknown): HomeMaildir {
  const home = value as Record<string, unknown> | null;
  if (typeof home !== "object" || home === null) throw new RefusedRequest("no home given");
  return {
    user: checkString(home["user"], "the user name", 256),
    home: checkPath(home["home"], "the home"),
    path: checkString(home["path"], "the maildir path"),
  };
}
