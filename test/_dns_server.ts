// A small authoritative DNS server on 127.0.0.1 (UDP) for tests: MX, A, AAAA, PTR and TXT records from a
// table, NXDOMAIN for names it does not know. Enough for Deno.resolveDns's nameServer.

import { createSocket } from "node:dgram";
import { Buffer } from "node:buffer";

/** The records the server answers with, by lower-case name. */
export interface DnsZone {
  readonly [name: string]: {
    readonly MX?: readonly (readonly [number, string])[];
    readonly A?: readonly string[];
    readonly AAAA?: readonly string[];
    /** Each record one string (split into 255-octet pieces on the wire). */
    readonly TXT?: readonly string[];
    /** Names for a reverse name (`4.3.2.1.in-addr.arpa`). */
    readonly PTR?: readonly string[];
  };
}

/** A running server. */
export interface DnsServer {
  readonly port: number;
  /** Queries seen, as "NAME TYPE". */
  readonly queries: string[];
  stop(): Promise<void>;
}

const TYPES: Record<number, string> = { 1: "A", 12: "PTR", 15: "MX", 16: "TXT", 28: "AAAA" };

/** Starts the server on a free UDP port. */
export function startDnsServer(zone: DnsZone): Promise<DnsServer> {
  const socket = createSocket("udp4");
  const queries: string[] = [];
  socket.on("message", (query: Buffer, from: { address: string; port: number }) => {
    const { name, type, end } = readQuestion(query);
    queries.push(`${name} ${TYPES[type] ?? type}`);
    const records = zone[name.toLowerCase()];
    const answers: Buffer[] = [];
    if (records && type === 15) {
      for (const [pref, exchange] of records.MX ?? []) {
        const rdata = Buffer.concat([u16(pref), encodeName(exchange)]);
        answers.push(answer(15, rdata));
      }
    } else if (records && type === 12) {
      for (const name of records.PTR ?? []) answers.push(answer(12, encodeName(name)));
    } else if (records && type === 16) {
      for (const text of records.TXT ?? []) answers.push(answer(16, txtData(text)));
    } else if (records && type === 1) {
      for (const ip of records.A ?? []) {
        answers.push(answer(1, Buffer.from(ip.split(".").map(Number))));
      }
    } else if (records && type === 28) {
      for (const ip of records.AAAA ?? []) answers.push(answer(28, ipv6Bytes(ip)));
    }
    const header = Buffer.alloc(12);
    query.copy(header, 0, 0, 2); // id
    header.writeUInt16BE(records ? 0x8580 : 0x8583, 2); // response, authoritative, NXDOMAIN when unknown
    header.writeUInt16BE(1, 4);
    header.writeUInt16BE(answers.length, 6);
    socket.send(
      Buffer.concat([header, query.subarray(12, end), ...answers]),
      from.port,
      from.address,
    );
  });
  return new Promise((resolve) => {
    socket.bind(0, "127.0.0.1", () => {
      resolve({
        port: socket.address().port,
        queries,
        stop: () => new Promise<void>((done) => socket.close(() => done())),
      });
    });
  });
}

function readQuestion(query: Buffer): { name: string; type: number; end: number } {
  const labels: string[] = [];
  let offset = 12;
  while (query[offset]! !== 0) {
    const length = query[offset]!;
    labels.push(query.subarray(offset + 1, offset + 1 + length).toString("latin1"));
    offset += length + 1;
  }
  offset += 1;
  return { name: labels.join("."), type: query.readUInt16BE(offset), end: offset + 4 };
}

function answer(type: number, rdata: Buffer): Buffer {
  const head = Buffer.alloc(12);
  head.writeUInt16BE(0xc00c, 0); // the name in the question
  head.writeUInt16BE(type, 2);
  head.writeUInt16BE(1, 4); // IN
  head.writeUInt32BE(60, 6);
  head.writeUInt16BE(rdata.length, 10);
  return Buffer.concat([head, rdata]);
}

function encodeName(name: string): Buffer {
  const parts = name === "." ? [] : name.replace(/\.$/, "").split(".");
  return Buffer.concat([
    ...parts.map((p) => Buffer.concat([Buffer.from([p.length]), Buffer.from(p, "latin1")])),
    Buffer.from([0]),
  ]);
}

function txtData(text: string): Buffer {
  const bytes = Buffer.from(text, "utf8");
  const pieces: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += 255) {
    const piece = bytes.subarray(i, i + 255);
    pieces.push(Buffer.from([piece.length]), piece);
  }
  return Buffer.concat(pieces);
}

// The 16 octets of an IPv6 address written with at most one "::".
function ipv6Bytes(ip: string): Buffer {
  const [head = "", tail] = ip.split("::");
  const left = head === "" ? [] : head.split(":");
  const right = tail === undefined || tail === "" ? [] : tail.split(":");
  const groups = [...left, ...Array(8 - left.length - right.length).fill("0"), ...right];
  return Buffer.concat(groups.map((g) => u16(parseInt(g, 16))));
}

function u16(n: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n);
  return b;
}
