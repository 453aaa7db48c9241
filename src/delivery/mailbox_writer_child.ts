// The mailbox writer child that runs as a mail user (`mailbox.writer`): started by a root
// daemon with that user's uid and gid, it reads requests from the channel the daemon
// offered (child_channel.ts), writes Maildirs and mboxes with the user's own rights, and
// answers each on the same channel. Requests —
// and the writes of one request, the recipients of one message — run concurrently: one
// slow fsync does not hold the others up.

import { performMailboxRequests, readRequests, type ResponseLine } from "./mailbox_request.ts";
import { EX, parentChannel } from "../mail/mod.ts";

/** Serves requests until the daemon ends the channel. */
export async function runMailboxWriterChild(): Promise<number> {
  const encoder = new TextEncoder();
  const running = new Set<Promise<void>>();
  const channel = await parentChannel();
  const output = channel.writable.getWriter();
  // Answers of one turn of the loop go out in one write; a daemon gone takes them with it.
  let answers: string[] = [];
  let written = Promise.resolve();
  const flush = () => {
    const data = encoder.encode(answers.join(""));
    answers = [];
    written = output.write(data).catch(() => {});
  };
  const answer = (line: ResponseLine) => {
    if (answers.length === 0) queueMicrotask(flush);
    answers.push(JSON.stringify(line) + "\n");
  };
  for await (const { header, content } of readRequests(channel.readable)) {
    // This process only writes mailboxes: its calls block, but for the fdatasync.
    const task = performMailboxRequests(header.requests, content, { blocking: true })
      .then((results) => answer({ id: header.id, results }))
      .finally(() => running.delete(task));
    running.add(task);
  }
  await Promise.all([...running]);
  // The last answers are queued in a microtask: wait for them to be written.
  await new Promise<void>((resolve) => queueMicrotask(resolve));
  await written;
  await channel.close();
  return EX.OK;
}
