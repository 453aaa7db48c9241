// The PROXY protocol version 2 header a load balancer sends before SMTP (`listen …
// proxy-v2`): the original client's address and port, read before the session starts.
// Layout from the PROXY protocol specification, section 2.2 (as OpenSMTPD's proxy.c reads it).

import type { Socket } from "node:net";

/** The endpoints a PROXY header names; absent for a LOCAL header (the proxy's own check). */
export interface ProxiedPeer {
  readonly address: string;
  readonly port: number;
  readonly localAddress: string;
  readonly localPort: number;
}

/** What a header said: the original peer, or LOCAL (keep the connection's own addresses). */
export type ProxyHeader =
  | { readonly kind: "proxy"; readonly peer: ProxiedPeer; readonly length: number }
  | { readonly kind: "local"; readonly length: number };

/** A header that cannot be read: OpenSMTPD's `reason` in its `event=closed` line. */
export class ProxyHeaderError extends Error {}

const SIGNATURE = [0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a];
const FIXED_LENGTH = 16;
const COMMAND_LOCAL = 0x0;
const COMMAND_PROXY = 0x1;
// Family (high nibble) and transport (low nibble) together, as the spec's byte 14.
const UNSPEC = 0x00;
const TCP4 = 0x11;
const TCP6 = 0x21;
const UNIX_STREAM = 0x31;
const ADDRESS_LENGTH: Record<number, number> = {
  [UNSPEC]: 0,
  [TCP4]: 12,
  [TCP6]: 36,
  [UNIX_STREAM]: 216,
};

/**
 * Reads a header from the start of `bytes`: undefined while more bytes are needed, the
 * header once complete (`length` says how many bytes it took), or a ProxyHeaderError.
 */
export function parseProxyV2(bytes: Uint8Array): ProxyHeader | undefined {
  for (let i = 0; i < Math.min(bytes.length, SIGNATURE.length); i++) {
    if (bytes[i] !== SIGNATURE[i]) throw new ProxyHeaderError("protocol error (invalid signature)");
  }
  if (bytes.length < FIXED_LENGTH) return undefined;
  const version = bytes[12]! >> 4;
  const command = bytes[12]! & 0x0f;
  const family = bytes[13]!;
  if (version !== 2) throw new ProxyHeaderError("protocol error (invalid version)");
  const addressLength = ADDRESS_LENGTH[family];
  if (addressLength === undefined) {
    throw new ProxyHeaderError("protocol error (unsupported address family)");
  }
  const rest = (bytes[14]! << 8) | bytes[15]!;
  if (rest < addressLength) throw new ProxyHeaderError("protocol error (address info too short)");
  const length = FIXED_LENGTH + rest;
  if (bytes.length < length) return undefined;
  if (command === COMMAND_LOCAL) return { kind: "local", length };
  if (command !== COMMAND_PROXY) throw new ProxyHeaderError("protocol error (unknown command)");
  const view = new DataView(bytes.buffer, bytes.byteOffset + FIXED_LENGTH, addressLength);
  switch (family) {
    case TCP4:
      return {
        kind: "proxy",
        length,
        peer: {
          address: [0, 1, 2, 3].map((i) => view.getUint8(i)).join("."),
          localAddress: [4, 5, 6, 7].map((i) => view.getUint8(i)).join("."),
          port: view.getUint16(8),
          localPort: view.getUint16(10),
        },
      };
    case TCP6:
      return {
        kind: "proxy",
        length,
        peer: {
          address: ipv6(view, 0),
          localAddress: ipv6(view, 16),
          port: view.getUint16(32),
          localPort: view.getUint16(34),
        },
      };
    case UNIX_STREAM:
      // A client on the proxy's own unix socket: as local as the enqueue socket's.
      return {
        kind: "proxy",
        length,
        peer: { address: "local", port: 0, localAddress: "local", localPort: 0 },
      };
    default:
      throw new ProxyHeaderError("address translation (UNSPEC family not supported for PROXYing)");
  }
}

function ipv6(view: DataView, offset: number): string {
  const groups: number[] = [];
  for (let i = 0; i < 8; i++) groups.push(view.getUint16(offset + 2 * i));
  // An IPv4 client behind an IPv6 proxy: written as node:net writes it, `::ffff:a.b.c.d`.
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) {
    return `::ffff:${[12, 13, 14, 15].map((i) => view.getUint8(offset + i)).join(".")}`;
  }
  // The URL parser writes an IPv6 address in its canonical short form (RFC 5952).
  return new URL(`http://[${groups.map((g) => g.toString(16)).join(":")}]/`).hostname.slice(1, -1);
}

/**
 * Reads the header off an accepted socket before anything else reads it, and leaves the
 * bytes after it (a client that did not wait for the banner) in the socket for the session.
 * Rejects on a bad header, on the connection closing first, or after `timeoutMs`.
 */
export function readProxyHeader(socket: Socket, timeoutMs: number): Promise<ProxyHeader> {
  return new Promise((resolve, reject) => {
    let buffered = new Uint8Array(0);
    const timer = setTimeout(() => finish(new ProxyHeaderError("timeout")), timeoutMs);
    const finish = (outcome: ProxyHeader | Error) => {
      clearTimeout(timer);
      socket.off("data", onData);
      socket.off("close", onClose);
      socket.off("error", onError);
      socket.pause();
      if (outcome instanceof Error) reject(outcome);
      else {
        const after = buffered.subarray(outcome.length);
        if (after.length > 0) socket.unshift(after);
        resolve(outcome);
      }
    };
    const onData = (chunk: Uint8Array) => {
      const joined = new Uint8Array(buffered.length + chunk.length);
      joined.set(buffered);
      joined.set(chunk, buffered.length);
      buffered = joined;
      try {
        const header = parseProxyV2(buffered);
        if (header) finish(header);
      } catch (error) {
        finish(error as Error);
      }
    };
    const onClose = () => finish(new ProxyHeaderError("disconnected"));
    const onError = (error: Error) => finish(new ProxyHeaderError(`IO error (${error.message})`));
    socket.on("data", onData);
    socket.once("close", onClose);
    socket.once("error", onError);
  });
}
