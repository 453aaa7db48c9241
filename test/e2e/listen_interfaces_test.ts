// `listen on` by interface name, as an operator writes it: `lo` binds the loopback
// addresses, BSD's `lo0` is taken as `lo` with a warning, and a name that is nothing is an
// error at `smtpd -n` that names the interfaces there are.

import { resolveListenAddresses } from "../../src/daemon/mod.ts";
import { assertEquals, assertMatch, assertRejects, assertStringIncludes } from "../assert.ts";
import { freePort, SmtpTestClient, spawnLoggedDaemon, waitFor } from "../_helpers.ts";

const ROOT = new URL("../../", import.meta.url).pathname;

async function smtpdCheck(path: string) {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", `${ROOT}cli.ts`, "-n", "-f", path],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decode = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code: output.code, stdout: decode(output.stdout), stderr: decode(output.stderr) };
}

const systemNames = () => [...new Set(Deno.networkInterfaces().map((i) => i.name))];
const hasIpv6Loopback = () => Deno.networkInterfaces().some((i) => i.address === "::1");

Deno.test("smtpd -n refuses an unknown interface at its line and column, listing the real ones", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/smtpd.conf`;
  await Deno.writeTextFile(
    path,
    `queue path "${dir}/queue"\nlisten on 127.0.0.1 port 2525\nlisten   on nosuch0 port 2526\n`,
  );
  const result = await smtpdCheck(path);
  assertEquals(result.code, 1);
  assertStringIncludes(result.stderr, `${path}:3:13: No interface or host named "nosuch0"`);
  for (const name of systemNames()) assertStringIncludes(result.stderr, name);
  assertMatch(result.stderr, /\(interfaces: [^)]*lo[^)]*\)/);
  assertEquals(result.stdout, "");
  await Deno.remove(dir, { recursive: true });
});

Deno.test("smtpd -n refuses a listener on an address a wildcard on the same port already takes", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/smtpd.conf`;
  const port = freePort();
  // Only checked, never started: the wildcard would bind every address of the machine.
  for (
    const [first, second, taken] of [
      ["any", "127.0.0.1", "0.0.0.0"],
      ["127.0.0.1", "any", "127.0.0.1"],
      ["any inet6", "127.0.0.1", "::"],
    ]
  ) {
    await Deno.writeTextFile(
      path,
      `queue path "${dir}/queue"\nlisten on ${first} port ${port}\n` +
        `listen on ${second} port ${port}\naction "a" mbox\nmatch for local action "a"\n`,
    );
    const result = await smtpdCheck(path);
    assertEquals(result.code, 1, `${first} then ${second}`);
    assertStringIncludes(result.stderr, `as the listener at ${path}:2:1 does already`);
    if (taken !== "127.0.0.1") assertStringIncludes(result.stderr, `, as ${taken}`);
  }
  // Another port is another socket.
  await Deno.writeTextFile(
    path,
    `queue path "${dir}/queue"\nlisten on any port ${port}\nlisten on 127.0.0.1 port ${
      port === 65535 ? port - 1 : port + 1
    }\naction "a" mbox\nmatch for local action "a"\n`,
  );
  assertEquals((await smtpdCheck(path)).code, 0);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("two listeners on one address and port are refused by smtpd -n and at the start", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/smtpd.conf`;
  const port = freePort();
  await Deno.writeTextFile(
    path,
    `queue path "${dir}/queue"\nlisten on 127.0.0.1 port ${port}\n` +
      `listen on 127.0.0.1 port ${port} tag second\naction "a" mbox\nmatch for local action "a"\n`,
  );
  const message = `${path}:3:1: listen on 127.0.0.1 port ${port} binds 127.0.0.1 port ${port}, ` +
    `as the listener at ${path}:2:1 does already`;
  const result = await smtpdCheck(path);
  assertEquals(result.code, 1);
  assertStringIncludes(result.stderr, message);
  assertEquals(result.stdout, "");
  const daemon = spawnLoggedDaemon(path);
  const status = await daemon.exited();
  assertEquals(status.success, false);
  assertStringIncludes(daemon.log(), message);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("smtpd -n accepts lo0 as Linux's lo and says so", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/smtpd.conf`;
  await Deno.writeTextFile(
    path,
    `queue path "${dir}/queue"\nlisten on lo0 port 2525\naction "a" mbox\nmatch for local action "a"\n`,
  );
  const result = await smtpdCheck(path);
  assertEquals(result.code, 0);
  assertEquals(result.stdout, "configuration OK\n");
  assertStringIncludes(
    result.stderr,
    `${path}:2:11: warning: Interface lo0 does not exist here: listening on lo`,
  );
  await Deno.remove(dir, { recursive: true });
});

Deno.test("smtpd -d says once, as a log line, that lo0 is listened on as lo", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/smtpd.conf`;
  await Deno.writeTextFile(
    path,
    `queue path "${dir}/queue"\nlisten on lo0 port 0\naction "a" maildir "${dir}/mail"\n` +
      `match for local action "a"\n`,
  );
  const daemon = spawnLoggedDaemon(path);
  try {
    await waitFor(
      "the daemon to be ready",
      () => daemon.log().includes("smtpd: ready") || undefined,
    );
    const said = daemon.log().split("\n").filter((l) => l.includes("lo0 does not exist here"));
    assertEquals(said.length, 1, daemon.log());
    assertStringIncludes(said[0]!, `warn: smtpd: ${path}:2:11: Interface lo0 does not exist here`);
  } finally {
    daemon.child.kill("SIGTERM");
    await daemon.exited();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("listen on lo binds the loopback addresses, each answering SMTP", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/smtpd.conf`;
  await Deno.writeTextFile(
    path,
    `queue path "${dir}/queue"\nlisten on lo port 0\naction "a" maildir "${dir}/mail"\nmatch for local action "a"\n`,
  );
  const daemon = spawnLoggedDaemon(path);
  try {
    await waitFor(
      "the daemon to be ready",
      () => daemon.log().includes("smtpd: ready") || undefined,
    );
    const bound = [...daemon.log().matchAll(/smtpd: listening on (\S+) port (\d+)/g)]
      .map((m) => ({ address: m[1]!, port: Number(m[2]) }));
    const expected = hasIpv6Loopback() ? ["127.0.0.1", "::1"] : ["127.0.0.1"];
    assertEquals(bound.map((b) => b.address), expected);
    // The test itself may reach 127.0.0.1 only: a client of its own reads the greeting
    // on the ::1 listener.
    const v6 = bound.find((b) => b.address === "::1");
    if (v6) {
      const client = await new Deno.Command(Deno.execPath(), {
        args: [
          "eval",
          `const c = await Deno.connect({ hostname: "::1", port: ${v6.port} });
           const b = new Uint8Array(512);
           const n = await c.read(b);
           console.log(new TextDecoder().decode(b.subarray(0, n ?? 0)));`,
        ],
        stdout: "piped",
      }).output();
      assertMatch(new TextDecoder().decode(client.stdout), /^220 /);
    }
    // The IPv4 listener is a whole SMTP server, not just an open port.
    const v4 = bound.find((b) => b.address === "127.0.0.1")!;
    await using client = await SmtpTestClient.connect(v4.port);
    await client.expect("220 ");
    await client.send("EHLO client.test");
    await client.expect("250 ");
  } finally {
    daemon.child.kill("SIGTERM");
    await daemon.exited();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("listen addresses: literals, keywords, interfaces, families and the lo0 alias", async () => {
  const interfaces = [
    { name: "lo", family: "IPv4", address: "127.0.0.1" },
    { name: "lo", family: "IPv6", address: "::1" },
    { name: "eth0", family: "IPv4", address: "192.0.2.7" },
    { name: "eth0", family: "IPv6", address: "fe80::1" },
    { name: "eth0", family: "IPv6", address: "2001:db8::7" },
  ] as const;
  const position = { file: "t.conf", line: 4, column: 11 };
  const resolve = (address: string, family?: "inet4" | "inet6") =>
    resolveListenAddresses({ address, position, ...(family ? { family } : {}) }, interfaces);
  assertEquals((await resolve("192.0.2.9")).addresses, ["192.0.2.9"]);
  assertEquals((await resolve("lo")).addresses, ["127.0.0.1", "::1"]);
  assertEquals((await resolve("lo", "inet6")).addresses, ["::1"]);
  // Link-local addresses cannot be bound without a zone: left out, as OpenSMTPD does.
  assertEquals((await resolve("eth0")).addresses, ["192.0.2.7", "2001:db8::7"]);
  assertEquals((await resolve("localhost", "inet4")).addresses, ["127.0.0.1"]);
  assertEquals((await resolve("any")).addresses, ["0.0.0.0"]);
  assertEquals((await resolve("any", "inet6")).addresses, ["::"]);
  assertEquals((await resolve("all", "inet4")).addresses, ["127.0.0.1", "192.0.2.7"]);
  const lo0 = await resolve("lo0");
  assertEquals(lo0.addresses, ["127.0.0.1", "::1"]);
  assertStringIncludes(lo0.warning ?? "", "lo0 does not exist here");
  await assertRejects(() => resolve("nosuch0"), Error, `"nosuch0" (interfaces: lo, eth0)`);
  await assertRejects(() => resolve("192.0.2.9", "inet6"), Error, "has no inet6 address");
});
