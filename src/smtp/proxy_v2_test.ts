import { assertEquals, assertThrows } from "../../test/assert.ts";
import { parseProxyV2, ProxyHeaderError } from "./proxy_v2.ts";

const SIGNATURE = [0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a];

function header(command: number, family: number, address: number[], tlvs: number[] = []) {
  const rest = address.length + tlvs.length;
  return new Uint8Array([
    ...SIGNATURE,
    0x20 | command,
    family,
    rest >> 8,
    rest & 0xff,
    ...address,
    ...tlvs,
  ]);
}

const tcp4 = [203, 0, 113, 7, 127, 0, 0, 1, 0xc3, 0x50, 0, 25];

Deno.test("parseProxyV2() reads a TCP over IPv4 header, TLVs skipped", () => {
  const bytes = header(1, 0x11, tcp4, [0x04, 0, 1, 0xff]);
  assertEquals(parseProxyV2(bytes), {
    kind: "proxy",
    length: 16 + 12 + 4,
    peer: { address: "203.0.113.7", localAddress: "127.0.0.1", port: 50000, localPort: 25 },
  });
});

Deno.test("parseProxyV2() waits for the rest of a header split anywhere", () => {
  const bytes = header(1, 0x11, tcp4);
  for (let cut = 0; cut < bytes.length; cut++) {
    assertEquals(parseProxyV2(bytes.subarray(0, cut)), undefined, `cut at ${cut}`);
  }
  assertEquals(parseProxyV2(bytes)?.kind, "proxy");
});

Deno.test("parseProxyV2() writes IPv6 and IPv4-mapped addresses as node:net does", () => {
  const v6 = [0x20, 0x01, 0x0d, 0xb8, ...Array(11).fill(0), 0x05];
  const mapped = [...Array(10).fill(0), 0xff, 0xff, 192, 0, 2, 9];
  const bytes = header(1, 0x21, [...v6, ...mapped, 0x12, 0x34, 0, 25]);
  const parsed = parseProxyV2(bytes);
  assertEquals(parsed?.kind === "proxy" ? parsed.peer : undefined, {
    address: "2001:db8::5",
    localAddress: "::ffff:192.0.2.9",
    port: 0x1234,
    localPort: 25,
  });
});

Deno.test("parseProxyV2() takes LOCAL (a health check) without addresses", () => {
  assertEquals(parseProxyV2(header(0, 0x00, [])), { kind: "local", length: 16 });
});

Deno.test("parseProxyV2() refuses what OpenSMTPD refuses, with its reasons", () => {
  const cases: [Uint8Array, string][] = [
    [new TextEncoder().encode("EHLO x\r\n"), "invalid signature"],
    [new Uint8Array([...SIGNATURE, 0x11, 0x11, 0, 12, ...tcp4]), "invalid version"],
    [header(1, 0x12, tcp4), "unsupported address family"],
    [new Uint8Array([...SIGNATURE, 0x21, 0x11, 0, 4, 1, 2, 3, 4]), "address info too short"],
    [header(2, 0x11, tcp4), "unknown command"],
    [header(1, 0x00, []), "UNSPEC family not supported"],
  ];
  for (const [bytes, reason] of cases) {
    const error = assertThrows(() => parseProxyV2(bytes), ProxyHeaderError);
    assertEquals(error.message.includes(reason), true, `${error.message} for ${reason}`);
  }
});
