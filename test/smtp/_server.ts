// A listener on 127.0.0.1:0 with a small fixed policy, recording what it was asked and
// given: the SMTP box's own boundary, for dialogue tests.

import type { NewMessage } from "../../src/queue/mod.ts";
import type { RuleVerdict } from "../../src/rules/mod.ts";
import {
  type ListenerTls,
  type SmtpLimits,
  type SmtpListenerOptions,
  startSmtpServer,
} from "../../src/smtp/mod.ts";
import { type Logger, SILENT_LOGGER } from "../../src/log/mod.ts";
import { SmtpTestClient } from "../_helpers.ts";

/** Options of {@link startDialogueServer}. */
export interface DialogueOptions {
  readonly limits?: Partial<SmtpLimits>;
  readonly tls?: ListenerTls;
  readonly auth?: SmtpListenerOptions["auth"];
  readonly dsn?: boolean;
  readonly maskSource?: boolean;
  /** Treat 127.0.0.1 as a remote client (for limits that spare local clients). */
  readonly remote?: boolean;
  /** Make every submit fail (a queue that cannot write). */
  readonly failSubmit?: boolean;
  /** Make every submit take this long (a queue waiting for its fsync). */
  readonly submitDelayMs?: number;
  /** Make every submit wait for this (a commit the test lets finish when it chooses). */
  readonly submitGate?: Promise<void>;
  /** Connections start with a PROXY v2 header (`listen … proxy-v2`). */
  readonly proxyV2?: boolean;
  /** Where the listener logs; silent by default. */
  readonly log?: Logger;
  /** The queue's free message ids (the daemon's freeMsgid); random when absent. */
  readonly newMsgid?: () => string;
}

/**
 * Accepts recipients at example.test and its subdomains, tempfails at tempfail.test, refuses
 * the rest.
 */
export async function startDialogueServer(options: DialogueOptions = {}) {
  const submitted: NewMessage[] = [];
  const committing = Promise.withResolvers<void>();
  const server = await startSmtpServer({
    address: "127.0.0.1",
    port: 0,
    hostname: "mx.example.test",
    ...(options.limits ? { limits: options.limits } : {}),
    ...(options.tls ? { tls: options.tls } : {}),
    ...(options.dsn === false ? { dsn: false } : {}),
    ...(options.maskSource ? { maskSource: true } : {}),
    ...(options.proxyV2 ? { proxyV2: true } : {}),
    ...(options.remote ? { isLocalAddress: () => false } : {}),
    ...(options.newMsgid ? { newMsgid: options.newMsgid } : {}),
    ...(options.auth ? { auth: options.auth, authFailureDelayMs: 0 } : {}),
    decide: (session, envelope): RuleVerdict => {
      if (session.authUser !== undefined && envelope.rcptTo.endsWith("@far.test")) {
        return { kind: "accept", action: "relay" };
      }
      const domain = envelope.rcptTo.split("@")[1]?.toLowerCase();
      if (domain === "example.test" || domain?.endsWith(".example.test")) {
        return { kind: "accept", action: "local", user: "u" };
      }
      if (domain === "tempfail.test") return { kind: "tempfail", reason: "test" };
      return { kind: "reject", reason: "test" };
    },
    submit: async (message) => {
      committing.resolve();
      await options.submitGate;
      if (options.submitDelayMs) await new Promise((r) => setTimeout(r, options.submitDelayMs));
      if (options.failSubmit) throw new Error("disk full");
      submitted.push(message);
    },
    log: options.log ?? SILENT_LOGGER,
  });
  return {
    submitted,
    port: server.port,
    connect: () => SmtpTestClient.connect(server.port),
    /** Connects, reads the banner and says EHLO. */
    async greeted() {
      const client = await SmtpTestClient.connect(server.port);
      await client.expect("220 ");
      await client.send("EHLO client.test");
      await client.expect("250 ");
      return client;
    },
    /** Resolves once a submit has begun (a message's commit is under way). */
    committing: committing.promise,
    /** Closes the listener as a stopping daemon does. */
    close: (close?: { readonly graceMs?: number }) => server.close(close),
    [Symbol.asyncDispose]: () => server.close(),
  };
}

/** The submitted content as text. */
export function contentText(message: NewMessage): string {
  return new TextDecoder().decode(message.content);
}
