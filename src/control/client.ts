// The programs' side of the daemon's socket (sendmail, mailq): find a socket that really
// is the daemon's — in a sticky offline directory, owned by that directory's owner, so a
// socket another user planted is never trusted — then send one request.

import { errorMessage } from "../mail/mod.ts";
import { removeProof, writeProof } from "./peer_identity.ts";
import { CONTROL_PROTOCOL_VERSION, FrameReader, writeFrame } from "./protocol.ts";
import { controlSocketPath } from "./paths.ts";
import type { LocalSubmission } from "./submission.ts";
import { type ControlAnswer, type ControlRequest, parseControlAnswer } from "./control_request.ts";

/** Why the socket could not be used: the caller then takes another path. */
export class ControlUnavailable extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ControlUnavailable";
  }
}

/** The daemon's answer to a submission. */
export interface SubmitAnswer {
  readonly exit: number;
  readonly msgid?: string;
  readonly error?: string;
}

interface Opened {
  readonly conn: Deno.Conn;
  readonly reader: FrameReader;
  readonly challenge: string;
  readonly maxBytes: number;
}

// Answers carry no body: a result or a listing is all in the JSON line.
const MAX_ANSWER_BODY = 0;

async function open(offlineDir: string, via?: string): Promise<Opened> {
  const path = controlSocketPath(offlineDir);
  if (via !== undefined) await checkName(via, path);
  const dir = await Deno.lstat(offlineDir).catch((error) => {
    throw new ControlUnavailable(`${offlineDir}: ${errorMessage(error)}`);
  });
  if (!dir.isDirectory || ((dir.mode ?? 0) & 0o1000) === 0) {
    throw new ControlUnavailable(`${offlineDir} is not a sticky directory`);
  }
  const socket = await Deno.lstat(path).catch((error) => {
    throw new ControlUnavailable(`${path}: ${errorMessage(error)}`);
  });
  if (!socket.isSocket || socket.uid !== dir.uid) {
    throw new ControlUnavailable(`${path} is not the daemon's socket (owner uid ${socket.uid})`);
  }
  let conn: Deno.Conn;
  try {
    conn = await Deno.connect({ transport: "unix", path });
  } catch (error) {
    throw new ControlUnavailable(`${path}: ${errorMessage(error)}`);
  }
  try {
    const reader = new FrameReader(conn, MAX_ANSWER_BODY);
    const hello = (await reader.read()).header;
    if (hello["kind"] !== "hello" || hello["version"] !== CONTROL_PROTOCOL_VERSION) {
      throw new Error(`the daemon speaks another protocol (${JSON.stringify(hello)})`);
    }
    return {
      conn,
      reader,
      challenge: String(hello["challenge"]),
      maxBytes: Number(hello["maxBytes"]),
    };
  } catch (error) {
    conn.close();
    throw new ControlUnavailable(`${path}: ${errorMessage(error)}`);
  }
}

// A name (`control socket PATH`) is used only when it leads to this queue's own socket,
// which is then what is connected to: a link swapped afterwards changes nothing.
async function checkName(name: string, path: string): Promise<void> {
  const [named, own] = await Promise.all([
    Deno.realPath(name).catch((error) => {
      throw new ControlUnavailable(`${name}: ${errorMessage(error)}`);
    }),
    Deno.realPath(path).catch((error) => {
      throw new ControlUnavailable(`${path}: ${errorMessage(error)}`);
    }),
  ]);
  if (named !== own) {
    throw new ControlUnavailable(`${name} is not this queue's socket (${path})`);
  }
}

/**
 * Submits a message through the running daemon. Throws {@link ControlUnavailable} when no
 * daemon answers there (the caller then drops the message offline); any answer the
 * daemon gives, a refusal included, is returned.
 */
export async function submitToDaemon(
  offlineDir: string,
  request: { submission: LocalSubmission; input: Uint8Array },
): Promise<SubmitAnswer> {
  const opened = await open(offlineDir);
  const { conn, reader } = opened;
  let proof: string | undefined;
  try {
    if (request.input.length > opened.maxBytes) {
      return {
        exit: 65,
        error: `message too large (${request.input.length} bytes, the limit is ${opened.maxBytes})`,
      };
    }
    try {
      proof = await writeProof(offlineDir, opened.challenge);
    } catch (error) {
      throw new ControlUnavailable(`cannot write a proof of identity: ${errorMessage(error)}`);
    }
    await writeFrame(conn, { kind: "submit", submission: request.submission }, request.input);
    const answer = (await reader.read()).header;
    if (answer["kind"] !== "result" || typeof answer["exit"] !== "number") {
      throw new Error(`unexpected answer ${JSON.stringify(answer)}`);
    }
    return {
      exit: answer["exit"],
      ...(typeof answer["msgid"] === "string" ? { msgid: answer["msgid"] } : {}),
      ...(typeof answer["error"] === "string" ? { error: answer["error"] } : {}),
    };
  } finally {
    if (proof) await removeProof(proof);
    conn.close();
  }
}

/**
 * Runs an smtpctl command in the running daemon, proving this process's uid (privileged
 * commands are root's); {@link ControlUnavailable} when no daemon answers.
 */
export async function controlDaemon(
  offlineDir: string,
  request: ControlRequest,
  options: {
    readonly via?: string;
    /**
     * Called with each page of a listing that comes in pages (`show queue`), as it comes;
     * without, the pages are gathered into the answer's `data.envelopes`.
     */
    readonly onPage?: (envelopes: unknown[], data: Record<string, unknown>) => void;
  } = {},
): Promise<ControlAnswer> {
  const opened = await open(offlineDir, options.via);
  const { conn, reader } = opened;
  let proof: string | undefined;
  try {
    try {
      proof = await writeProof(offlineDir, opened.challenge);
    } catch (error) {
      throw new ControlUnavailable(`cannot write a proof of identity: ${errorMessage(error)}`);
    }
    await writeFrame(conn, {
      kind: "control",
      command: request.command,
      params: request.params,
      paged: true,
    });
    const gathered: unknown[] = [];
    while (true) {
      const header = (await reader.read()).header;
      const answer = parseControlAnswer(header);
      const data = answer.data as Record<string, unknown> | undefined;
      const page = data?.["envelopes"];
      if (header["more"] !== true) {
        if (gathered.length === 0 || !Array.isArray(page)) return answer;
        return { ...answer, data: { ...data, envelopes: [...gathered, ...page] } };
      }
      if (!Array.isArray(page)) throw new Error(`unexpected page ${JSON.stringify(header)}`);
      if (options.onPage) options.onPage(page, data!);
      else for (const envelope of page) gathered.push(envelope);
    }
  } finally {
    if (proof) await removeProof(proof);
    conn.close();
  }
}
