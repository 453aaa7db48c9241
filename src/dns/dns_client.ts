// A stub resolver that, unlike Deno.resolveDns, reports the AD bit (RFC 4035 §3.2.3): the
// answer a validating resolver vouches for. Queries go over UDP (node:dgram), again over
// TCP when the answer was truncated (RFC 7766 §5); packets are built by npm:dns-packet.

// @ts-types="npm:@types/dns-packet@5.6.5"
import * as packet from "dns-packet";
import { createSocket } from "node:dgram";
import { connect } from "node:net";
import { Buffer } from "node:buffer";
import { type ResolverSettings, systemResolver } from "./resolv_conf.ts";

/** The resolver to ask: one named in the configuration or by a test, else the system's. */
export interface NameServer {
  readonly ipAddr: string;
  readonly port?: number;
}

/** Options of {@link queryDns}. */
export interface DnsQueryOptions {
  /** One server to ask, with resolv.conf(5)'s default timeout and attempts. */
  readonly nameServer?: NameServer;
  /** Settings to use instead of /etc/resolv.conf's (tests). */
  readonly resolver?: ResolverSettings;
  /** Per query sent, instead of the settings' timeout. */
  readonly timeoutMs?: number;
}

/** The record types this client asks for. */
export type DnsRecordType = "A" | "AAAA" | "MX" | "TXT" | "TLSA" | "CNAME";

/** One answer record, reduced to what callers read. */
export type DnsRecord =
  | { readonly type: "A" | "AAAA" | "CNAME"; readonly name: string; readonly value: string }
  | {
    readonly type: "MX";
    readonly name: string;
    readonly preference: number;
    readonly exchange: string;
  }
  | { readonly type: "TXT"; readonly name: string; readonly text: string }
  | {
    readonly type: "TLSA";
    readonly name: string;
    readonly usage: number;
    readonly selector: number;
    readonly matchingType: number;
    readonly data: Uint8Array;
  };

/** What the resolver said. */
export interface DnsAnswer {
  /** NOERROR, NXDOMAIN, SERVFAIL… */
  readonly rcode: string;
  /** The AD bit: the resolver validated the answer (or the denial) with DNSSEC. */
  readonly secure: boolean;
  /** The records of the asked type (CNAMEs on the way are left out). */
  readonly records: readonly DnsRecord[];
}

/** The resolver could not be reached or answered nonsense: worth another try later. */
export class DnsTransportError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "DnsTransportError";
  }
}

const DEFAULT_TIMEOUT_MS = 5_000;
const DEFAULT_ATTEMPTS = 2;
// `options rotate`: where the next query starts.
let rotation = 0;

/** Asks one question; throws {@link DnsTransportError} when no resolver answered. */
export async function queryDns(
  name: string,
  type: DnsRecordType,
  options: DnsQueryOptions = {},
): Promise<DnsAnswer> {
  let settings: ResolverSettings;
  try {
    settings = options.nameServer
      ? {
        servers: [{ ipAddr: options.nameServer.ipAddr, port: options.nameServer.port ?? 53 }],
        timeoutMs: DEFAULT_TIMEOUT_MS,
        attempts: DEFAULT_ATTEMPTS,
        rotate: false,
      }
      : options.resolver ?? await systemResolver();
  } catch (error) {
    throw new DnsTransportError(`DNS query ${name} ${type} failed: ${errorText(error)}`);
  }
  const timeoutMs = options.timeoutMs ?? settings.timeoutMs;
  const { servers } = settings;
  const first = settings.rotate ? rotation++ % servers.length : 0;
  let lastError = "no name server";
  // resolv.conf(5), as glibc does it: each round asks every server once, in turn, so a dead
  // first server costs one timeout per query, not all its attempts.
  for (let attempt = 0; attempt < settings.attempts; attempt++) {
    for (let i = 0; i < servers.length; i++) {
      const server = servers[(first + i) % servers.length]!;
      const id = crypto.getRandomValues(new Uint16Array(1))[0]!;
      const query = packet.encode({
        type: "query",
        id,
        // RFC 6840 §5.7: a stub that wants the AD bit sets it in its query.
        flags: packet.RECURSION_DESIRED | packet.AUTHENTIC_DATA,
        questions: [{ type, name, class: "IN" }],
        // RFC 6891: room for answers larger than 512 octets (DNS flag day 2020's size).
        additionals: [{
          type: "OPT",
          name: ".",
          udpPayloadSize: 1232,
          extendedRcode: 0,
          ednsVersion: 0,
          flags: 0,
          flag_do: false,
          options: [],
        }],
      });
      try {
        let response = check(await overUdp(query, server, timeoutMs), id, name, type);
        if (((response.flags ?? 0) & packet.TRUNCATED_RESPONSE) !== 0) {
          response = check(await overTcp(query, server, timeoutMs), id, name, type);
        }
        return toAnswer(response, type);
      } catch (error) {
        lastError = errorText(error);
      }
    }
  }
  throw new DnsTransportError(`DNS query ${name} ${type} failed: ${lastError}`);
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function check(response: packet.Packet, id: number, name: string, type: string): packet.Packet {
  const question = response.questions?.[0];
  // RFC 5452 §9.1: an answer must match the id and the question it claims to answer.
  if (
    response.id !== id || !question || question.type !== type ||
    question.name.toLowerCase() !== name.toLowerCase().replace(/\.$/, "")
  ) {
    throw new Error("the answer does not match the question");
  }
  return response;
}

function toAnswer(response: packet.Packet, type: DnsRecordType): DnsAnswer {
  const records: DnsRecord[] = [];
  for (const answer of response.answers ?? []) {
    if (answer.type !== type) continue;
    const record = toRecord(answer);
    if (record) records.push(record);
  }
  return {
    rcode: (response as { rcode?: string }).rcode ?? "NOERROR",
    secure: ((response.flags ?? 0) & packet.AUTHENTIC_DATA) !== 0,
    records,
  };
}

function toRecord(answer: packet.Answer): DnsRecord | undefined {
  const name = answer.name;
  switch (answer.type) {
    case "A":
    case "AAAA":
    case "CNAME":
      return { type: answer.type, name, value: String(answer.data) };
    case "MX":
      return {
        type: "MX",
        name,
        preference: answer.data.preference ?? 0,
        exchange: answer.data.exchange,
      };
    case "TXT": {
      // RFC 7208 §3.3 and RFC 8461 §3.1: the strings of one record are joined without spaces.
      const data = Array.isArray(answer.data) ? answer.data : [answer.data];
      const text = data.map((d) => typeof d === "string" ? d : Buffer.from(d).toString("utf8"))
        .join("");
      return { type: "TXT", name, text };
    }
    case "TLSA": {
      const data = answer.data as unknown as {
        usage: number;
        selector: number;
        matchingType: number;
        certificate: Uint8Array;
      };
      return {
        type: "TLSA",
        name,
        usage: data.usage,
        selector: data.selector,
        matchingType: data.matchingType,
        data: new Uint8Array(data.certificate),
      };
    }
    default:
      return undefined;
  }
}

function overUdp(query: Buffer, server: NameServer, timeoutMs: number): Promise<packet.Packet> {
  // node:dgram reports a refused permission as an uncaught error: ask first.
  const local = loopbackOf(server.ipAddr) ?? (server.ipAddr.includes(":") ? "::" : "0.0.0.0");
  for (const host of [hostPort(local, 0), hostPort(server.ipAddr, server.port ?? 53)]) {
    if (Deno.permissions.querySync({ name: "net", host }).state !== "granted") {
      return Promise.reject(new Error(`no permission to use ${host} for DNS (--allow-net)`));
    }
  }
  const socket = createSocket(server.ipAddr.includes(":") ? "udp6" : "udp4");
  return new Promise<packet.Packet>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`no answer within ${timeoutMs} ms`)),
      timeoutMs,
    );
    socket.on("error", (error: Error) => {
      clearTimeout(timer);
      reject(error);
    });
    socket.on("message", (message: Buffer) => {
      clearTimeout(timer);
      try {
        resolve(packet.decode(message));
      } catch (error) {
        reject(error);
      }
    });
    // A resolver on the loopback is asked from the loopback: the process may be allowed
    // no other address (Deno's --allow-net=127.0.0.1), and no other is needed.
    socket.bind(0, local, () => socket.send(query, server.port ?? 53, server.ipAddr));
  }).finally(() => socket.close());
}

function hostPort(address: string, port: number): string {
  return address.includes(":") ? `[${address}]:${port}` : `${address}:${port}`;
}

// The local address to send from: the loopback for a loopback resolver, else any.
function loopbackOf(address: string): string | undefined {
  if (address.startsWith("127.")) return "127.0.0.1";
  if (address === "::1") return "::1";
  return undefined;
}

function overTcp(query: Buffer, server: NameServer, timeoutMs: number): Promise<packet.Packet> {
  return new Promise<packet.Packet>((resolve, reject) => {
    const socket = connect({ host: server.ipAddr, port: server.port ?? 53 });
    let received = Buffer.alloc(0);
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no answer over TCP within ${timeoutMs} ms`));
    }, timeoutMs);
    const fail = (error: Error) => {
      clearTimeout(timer);
      socket.destroy();
      reject(error);
    };
    socket.on("error", fail);
    socket.on("connect", () => {
      // RFC 1035 §4.2.2: over TCP each message is preceded by its two-octet length.
      const length = Buffer.alloc(2);
      length.writeUInt16BE(query.length);
      socket.write(Buffer.concat([length, query]));
    });
    socket.on("data", (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      if (received.length < 2 || received.length < 2 + received.readUInt16BE(0)) return;
      clearTimeout(timer);
      socket.destroy();
      try {
        resolve(packet.decode(received.subarray(2, 2 + received.readUInt16BE(0))));
      } catch (error) {
        reject(error);
      }
    });
    socket.on("end", () => fail(new Error("the connection closed before the answer")));
  });
}
