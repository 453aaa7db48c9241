// The offline file sendmail drops when no daemon answers: a first line naming the format,
// a line of JSON with the submission (the same object the socket carries), then the
// message exactly as it was read from standard input, to the end of the file. Written
// under a dot name and renamed, so the daemon only ever sees whole files.

import { errorMessage, randomHex } from "../mail/mod.ts";
import { type LocalSubmission, parseSubmission } from "./submission.ts";

/** The first line of every offline file. */
export const OFFLINE_MAGIC = "smtpd-offline 1";

/** The bytes of an offline file. */
export function encodeOfflineFile(submission: LocalSubmission, input: Uint8Array): Uint8Array {
  const head = new TextEncoder().encode(`${OFFLINE_MAGIC}\n${JSON.stringify(submission)}\n`);
  const out = new Uint8Array(head.length + input.length);
  out.set(head);
  out.set(input, head.length);
  return out;
}

/** An offline file read back; throws with the reason when it is not one. */
export function parseOfflineFile(
  bytes: Uint8Array,
): { submission: LocalSubmission; input: Uint8Array } {
  const first = bytes.indexOf(0x0a);
  if (first === -1 || new TextDecoder().decode(bytes.subarray(0, first)) !== OFFLINE_MAGIC) {
    throw new Error(`it does not start with "${OFFLINE_MAGIC}"`);
  }
  const second = bytes.indexOf(0x0a, first + 1);
  if (second === -1) throw new Error("its submission line is not ended");
  let value: unknown;
  try {
    value = JSON.parse(
      new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(first + 1, second)),
    );
  } catch (error) {
    throw new Error(`its submission line is not JSON: ${errorMessage(error)}`);
  }
  return { submission: parseSubmission(value), input: bytes.slice(second + 1) };
}

/**
 * Drops a message into the offline directory: written as `.tmp-…`, synced, then renamed
 * to its final name, which it returns. Mode 0640: the directory is set-group-ID, so the
 * file's group is the daemon's and the daemon can read it; other users cannot.
 */
export async function dropOffline(
  dir: string,
  request: { submission: LocalSubmission; input: Uint8Array },
): Promise<string> {
  const name = `${Date.now()}.${randomHex(8)}`;
  const temp = `${dir}/.tmp-${name}`;
  const file = await Deno.open(temp, { write: true, createNew: true, mode: 0o640 });
  try {
    await Deno.chmod(temp, 0o640); // Whatever the umask took away.
    const data = encodeOfflineFile(request.submission, request.input);
    let offset = 0;
    while (offset < data.length) offset += await file.write(data.subarray(offset));
    await file.sync();
  } catch (error) {
    file.close();
    await Deno.remove(temp).catch(() => {});
    throw error;
  }
  file.close();
  try {
    await Deno.rename(temp, `${dir}/${name}`);
  } catch (error) {
    await Deno.remove(temp).catch(() => {});
    throw error;
  }
  return name;
}
