// The mailbox writer child that runs as a mail user (`mailbox.writer`): started by a root
// daemon with that user's uid and gid, it reads requests from the channel the daemon
// offered (child_channel.ts), writes Maildirs and mboxes with the user's own rights, and
// answers each on the same channel. The channel may be to the SMTP front rather than the
// daemon (the front, which reads the network, then writes here directly): every write is
// checked as the daemon would check it before it is made. Requests —
// and the writes of one request, the recipients of one message — run concurrently: one
// slow fsync does not hold the others up.

import {
  type MailboxRequest,
  type MailboxWriteResult,
  MAILDIR_ONLY_VARIABLE,
  performMailboxRequests,
  readRequests,
  type ResponseLine,
} from "./mailbox_request.ts";
import { checkMailboxRequest } from "./mailbox_request_check.ts";
import { errorMessage, EX, parentChannel } from "../mail/mod.ts";

/** The most writes one request may carry (as many as the daemon's own "mailboxes"). */
const MAX_WRITES = 1000;

/** Serves requests until the daemon ends the channel. */
export async function runMailboxWriterChild(): Promise<number> {
  const encoder = new TextEncoder();
  const running = new Set<Promise<void>>();
  const maildirOnly = servesFront();
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
  // A channel that fails (reset by a front that died) ends the requests as its end does:
  // the writes under way are made, then the child exits, saying so once.
  let failure: string | undefined;
  try {
    for await (const { header, content } of readRequests(channel.readable)) {
      const task = performChecked(header.requests, content, maildirOnly)
        .then((results) => answer({ id: header.id, results }))
        .finally(() => running.delete(task));
      running.add(task);
    }
  } catch (error) {
    failure = errorMessage(error);
  }
  const underWay = running.size;
  await Promise.all([...running]);
  // The last answers are queued in a microtask: wait for them to be written.
  await new Promise<void>((resolve) => queueMicrotask(resolve));
  await written;
  await channel.close().catch(() => {});
  if (failure !== undefined) {
    console.error(
      `smtpd: mailbox writer (uid ${Deno.uid()}): its channel failed (${failure}): ` +
        `exiting, the writes under way (${underWay}) made`,
    );
  }
  return EX.OK;
}

// Each write of a request checked, then those that pass made; one that fails its check
// gets the reason as its result, in its place.
async function performChecked(requests: unknown, content: Uint8Array, maildirOnly: boolean) {
  if (!Array.isArray(requests) || requests.length > MAX_WRITES) return [];
  const results: MailboxWriteResult[] = new Array(requests.length);
  const checked: MailboxRequest[] = [];
  const at: number[] = [];
  // Serving the front, only Maildirs are written: which mbox or file a user's writer may
  // append to is the daemon's to check.
  requests.forEach((request: unknown, n) => {
    try {
      const mailbox = checkMailboxRequest(request);
      if (maildirOnly && mailbox.kind !== "maildir") {
        throw new Error("an mbox is written through the daemon, not for the SMTP front");
      }
      checked.push(mailbox);
      at.push(n);
    } catch (error) {
      results[n] = { error: errorMessage(error), permanent: true };
    }
  });
  // This process only writes mailboxes: its calls block, but for the fdatasync.
  const written = await performMailboxRequests(checked, content, { blocking: true });
  written.forEach((result, i) => results[at[i]!] = result);
  return results;
}

// Started for the SMTP front's own writes (the daemon says so): Maildirs only.
function servesFront(): boolean {
  try {
    return Deno.env.get(MAILDIR_ONLY_VARIABLE) === "1";
  } catch {
    return false;
  }
}
