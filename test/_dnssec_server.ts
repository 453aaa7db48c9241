// A DNS server on 127.0.0.1 (UDP and TCP, one port) for tests that need what a validating
// resolver says: each name's answers carry the AD bit or not, as the zone says; a name can
// be made to answer SERVFAIL, to truncate over UDP so the client must ask over TCP, or to
// never answer.

// @ts-types="npm:@types/dns-packet@5.6.5"
import * as packet from "dns-packet";
import { createSocket } from "node:dgram";
import { createServer, type Socket } from "node:net";
import { Buffer } from "node:buffer";

/** The records of one name. */
export interface SignedName {
  MX?: [number, string][];
  A?: string[];
  TXT?: string[];
  /** usage, selector, matching type, data as hex. */
  TLSA?: [number, number, number, string][];
  /** The resolver validated this name's answers (AD set); false or absent: insecure. */
  secure?: boolean;
  /**
   * Every question about the name fails with SERVFAIL (a bogus or unreachable zone), or
   * only questions of the types listed (the others answer NOERROR).
   */
  servfail?: boolean | readonly string[];
  /** Over UDP the answer comes back truncated (TC), so only TCP gets it. */
  truncate?: boolean;
  /** No answer comes at all (a zone whose servers never answer): the client times out. */
  silent?: boolean;
}

/** The zone by lower-case name; a test may change it while the server runs. */
export type SignedZone = Record<string, SignedName>;

/** A running server. */
export interface DnssecServer {
  readonly port: number;
  /** Questions seen, as "NAME TYPE udp|tcp". */
  readonly queries: string[];
  stop(): Promise<void>;
}

/** Starts the server on a free port (the same number for UDP and TCP). */
export async function startDnssecServer(zone: SignedZone): Promise<DnssecServer> {
  const queries: string[] = [];
  const tcp = createServer((socket: Socket) => {
    let received = Buffer.alloc(0);
    socket.on("error", () => socket.destroy());
    socket.on("data", (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      while (received.length >= 2 && received.length >= 2 + received.readUInt16BE(0)) {
        const query = received.subarray(2, 2 + received.readUInt16BE(0));
        received = received.subarray(2 + query.length);
        const reply = respond(zone, query, "tcp", queries);
        if (!reply) continue;
        const length = Buffer.alloc(2);
        length.writeUInt16BE(reply.length);
        socket.write(Buffer.concat([length, reply]));
      }
    });
  });
  // UDP takes a free port; TCP the same number, which another process may hold: then again.
  for (let attempt = 0;; attempt++) {
    const udp = createSocket("udp4");
    udp.on("message", (query: Buffer, from: { address: string; port: number }) => {
      const reply = respond(zone, query, "udp", queries);
      if (reply) udp.send(reply, from.port, from.address);
    });
    await new Promise<void>((resolve) => udp.bind(0, "127.0.0.1", () => resolve()));
    const port = udp.address().port;
    const listening = await new Promise<boolean>((resolve) => {
      tcp.once("error", () => resolve(false));
      tcp.listen(port, "127.0.0.1", () => resolve(true));
    });
    if (!listening && attempt < 20) {
      await new Promise<void>((done) => udp.close(() => done()));
      continue;
    }
    if (!listening) throw new Error("no port free for both UDP and TCP");
    return {
      port,
      queries,
      stop: async () => {
        await new Promise<void>((done) => udp.close(() => done()));
        await new Promise<void>((done) => tcp.close(() => done()));
      },
    };
  }
}

function respond(
  zone: SignedZone,
  query: Buffer,
  via: "udp" | "tcp",
  seen: string[],
): Buffer | undefined {
  const request = packet.decode(query);
  const question = request.questions![0]!;
  seen.push(`${question.name} ${question.type} ${via}`);
  const entry = zone[question.name.toLowerCase()];
  if (entry?.silent) return undefined;
  const answers: packet.Answer[] = [];
  const servfail = entry?.servfail === true ||
    (Array.isArray(entry?.servfail) && entry.servfail.includes(question.type));
  const base = { name: question.name, ttl: 60, class: "IN" as const };
  if (entry && !servfail) {
    if (question.type === "MX") {
      for (const [preference, exchange] of entry.MX ?? []) {
        answers.push({ ...base, type: "MX", data: { preference, exchange } });
      }
    } else if (question.type === "A") {
      for (const ip of entry.A ?? []) answers.push({ ...base, type: "A", data: ip });
    } else if (question.type === "TXT") {
      for (const text of entry.TXT ?? []) {
        answers.push({ ...base, type: "TXT", data: chunks(text) });
      }
    } else if (question.type === "TLSA") {
      for (const [usage, selector, matchingType, hex] of entry.TLSA ?? []) {
        answers.push({
          ...base,
          type: "TLSA",
          data: { usage, selector, matchingType, certificate: Buffer.from(hex, "hex") },
        } as unknown as packet.Answer);
      }
    }
  }
  const truncated = via === "udp" && entry?.truncate === true;
  let flags = packet.AUTHORITATIVE_ANSWER | packet.RECURSION_AVAILABLE;
  if (entry?.secure) flags |= packet.AUTHENTIC_DATA;
  if (truncated) flags |= packet.TRUNCATED_RESPONSE;
  const rcode = !entry ? "NXDOMAIN" : servfail ? "SERVFAIL" : "NOERROR";
  return packet.encode({
    type: "response",
    id: request.id ?? 0,
    flags: flags | RCODES[rcode]!,
    questions: [question],
    answers: truncated ? [] : answers,
  });
}

const RCODES: Record<string, number> = { NOERROR: 0, SERVFAIL: 2, NXDOMAIN: 3 };

// A TXT record's strings are at most 255 octets each.
function chunks(text: string): Buffer[] {
  const bytes = Buffer.from(text, "utf8");
  const pieces: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += 255) pieces.push(bytes.subarray(i, i + 255));
  return pieces.length > 0 ? pieces : [Buffer.alloc(0)];
}
