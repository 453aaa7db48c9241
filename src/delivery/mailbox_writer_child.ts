// The mailbox writer child that runs as a mail user (`mailbox.writer`): started by a root
// daemon with that user's uid and gid, it reads requests on standard input, writes Maildirs
// and mboxes with the user's own rights, and answers each on standard output. Requests —
// and the writes of one request, the recipients of one message — run concurrently: one
// slow fsync does not hold the others up.

import { performMailboxRequests, readRequests, type ResponseLine } from "./mailbox_request.ts";
import { EX } from "../mail/mod.ts";

/** Serves requests until standard input closes. */
export async function runMailboxWriterChild(): Promise<number> {
  const encoder = new TextEncoder();
  const running = new Set<Promise<void>>();
  // Answers of one turn of the loop go out in one write.
  let answers: string[] = [];
  const flush = () => {
    const data = encoder.encode(answers.join(""));
    answers = [];
    let offset = 0;
    while (offset < data.byteLength) offset += Deno.stdout.writeSync(data.subarray(offset));
  };
  const answer = (line: ResponseLine) => {
    if (answers.length === 0) queueMicrotask(flush);
    answers.push(JSON.stringify(line) + "\n");
  };
  for await (const { header, content } of readRequests(Deno.stdin.readable)) {
    // This process only writes mailboxes: its calls block, but for the fdatasync.
    const task = performMailboxRequests(header.requests, content, { blocking: true })
      .then((results) => answer({ id: header.id, results }))
      .finally(() => running.delete(task));
    running.add(task);
  }
  await Promise.all([...running]);
  return EX.OK;
}
