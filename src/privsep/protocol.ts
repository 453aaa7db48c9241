// What the SMTP front may ask the privileged parent, and what it answers: a small, closed
// set of typed requests. Every request is checked by the parent before it acts
// (parent_checks.ts); anything else closes the channel.

import type {
  DeliveryUser,
  MailboxRequest,
  MdaActionRequest,
  PipeRequest,
} from "../delivery/mod.ts";
import type { DeliveryResult } from "../mail/mod.ts";

/** A request of the front. Those marked "body" carry the message as the frame's body. */
export type PrivsepRequest =
  /** Check a system account's password (/etc/shadow). */
  | { readonly kind: "auth"; readonly user: string; readonly password: string }
  /** Write a mailbox as its user (body). */
  | { readonly kind: "mailbox"; readonly user: DeliveryUser; readonly request: MailboxRequest }
  /** Write several mailboxes of the user with the same message: its recipients (body, once). */
  | {
    readonly kind: "mailboxes";
    readonly user: DeliveryUser;
    readonly requests: readonly MailboxRequest[];
  }
  /** Run an `mda` action as its user (body). */
  | { readonly kind: "mda"; readonly request: MdaActionRequest }
  /** Run a `|command` from an aliases table or a ~/.forward (body). */
  | { readonly kind: "pipe"; readonly request: PipeRequest }
  /**
   * Start a mailbox writer as the user that connects to the front's socket (in the
   * directory the parent made for them) with the token, so that the front sends it that
   * user's mailbox writes itself; answered when the writer has exited.
   */
  | {
    readonly kind: "writer";
    readonly user: DeliveryUser;
    readonly path: string;
    readonly token: string;
    /** What the front says first on the connection, which the writer waits for. */
    readonly hello: string;
  }
  /** Read a user's ~/.forward. */
  | { readonly kind: "forward"; readonly user: DeliveryUser }
  /** Read an `:include:` file of an aliases table. */
  | { readonly kind: "include"; readonly path: string }
  /**
   * Reload the parent's copy of a table its configuration declares (`update table NAME`):
   * by name only, never a path.
   */
  | { readonly kind: "table"; readonly name: string }
  /** The front's listeners are bound: the daemon has started. */
  | { readonly kind: "ready" };

/** The parent's answer to one request. */
export type PrivsepAnswer =
  | { readonly kind: "auth"; readonly ok: boolean; readonly reason?: string }
  | { readonly kind: "written" }
  /** The answer to "mailboxes": one per write, in their order, each on its own. */
  | { readonly kind: "written-each"; readonly results: readonly MailboxAnswer[] }
  | { readonly kind: "delivery"; readonly result: DeliveryResult }
  | { readonly kind: "forward"; readonly entries: readonly string[] | null }
  | { readonly kind: "include"; readonly text: string }
  /** The table a "table" request names is reloaded. */
  | { readonly kind: "table-reloaded" }
  | { readonly kind: "noted" }
  /** The writer a "writer" request started has exited. */
  | { readonly kind: "writer-gone" }
  /**
   * The request was refused (it failed a check: `permanent`, the same request would fail
   * again) or could not be done; the reason is for the log.
   */
  | { readonly kind: "refused"; readonly reason: string; readonly permanent?: boolean };

/** How one write of a "mailboxes" request went. */
export type MailboxAnswer = Extract<PrivsepAnswer, { kind: "written" | "refused" }>;

/** A request on the wire: numbered, so answers may come back in any order. */
export type RequestHeader = PrivsepRequest & { readonly id: number };
/** An answer on the wire, with the number of its request. */
export type AnswerHeader = PrivsepAnswer & { readonly id: number };

/** The request kinds that carry the message as the frame's body. */
export const KINDS_WITH_BODY: ReadonlySet<PrivsepRequest["kind"]> = new Set([
  "mailbox",
  "mailboxes",
  "mda",
  "pipe",
]);
