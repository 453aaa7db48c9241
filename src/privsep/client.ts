// The SMTP front's end of the channel to the privileged parent (the socket the parent
// offered, src/mail/child_channel.ts): numbered requests out, answers in, matched by
// number so that many deliveries and AUTH checks can wait on the parent at once.

import { readFrames, writeFrame } from "./frames.ts";
import type { AnswerHeader, PrivsepAnswer, PrivsepRequest } from "./protocol.ts";
import { errorMessage } from "../mail/mod.ts";
import { profile, trace } from "../log/mod.ts";

/** Asks the parent; one per front. */
export interface PrivsepClient {
  /** Sends a request (with the message as its body, where it has one) and waits. */
  ask(request: PrivsepRequest, body?: Uint8Array): Promise<PrivsepAnswer>;
  /** Resolves when the parent's side of the channel has ended (the parent is gone). */
  readonly ended: Promise<void>;
}

/** Opens the channel over the given streams (the front's end of the child channel). */
export function openPrivsepClient(
  input: ReadableStream<Uint8Array>,
  output: WritableStream<Uint8Array>,
): PrivsepClient {
  const writer = output.getWriter();
  const pending = new Map<number, (answer: PrivsepAnswer) => void>();
  let nextId = 1;
  let gone: string | undefined;
  const ended = (async () => {
    try {
      for await (const { header } of readFrames(input)) {
        const answer = header as AnswerHeader;
        trace("imsg", () => `parent -> front: ${answer.kind} #${answer.id}`);
        const waiting = pending.get(answer.id);
        pending.delete(answer.id);
        waiting?.(answer);
      }
      gone = "the privileged parent closed the channel";
    } catch (error) {
      gone = `the channel to the privileged parent failed: ${errorMessage(error)}`;
    }
    for (const waiting of pending.values()) waiting({ kind: "refused", reason: gone });
    pending.clear();
  })();
  return {
    ended,
    ask(request, body) {
      if (gone !== undefined) return Promise.resolve({ kind: "refused", reason: gone });
      const id = nextId++;
      trace("imsg", () => `front -> parent: ${request.kind} #${id}`);
      trace("mproc", () => `front -> parent: frame #${id}, body ${body?.byteLength ?? 0} bytes`);
      // `profile imsg`: how long the parent takes over each kind of request.
      const answered = profile(
        "imsg",
        `privsep.${request.kind}`,
        () => new Promise<PrivsepAnswer>((resolve) => pending.set(id, resolve)),
      );
      writeFrame(writer, { ...request, id }, body).catch((error) => {
        pending.get(id)?.({
          kind: "refused",
          reason: `cannot ask the parent: ${errorMessage(error)}`,
        });
        pending.delete(id);
      });
      return answered;
    },
  };
}
