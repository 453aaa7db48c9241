// Listener options OpenSMTPD gives effect that were parsed and ignored: `hostnames <t>`
// names the server by the local address a client reached, `protocols` bounds the TLS
// versions a real node:tls client may negotiate, and bad lists are refused.

import { connect, type TLSSocket } from "node:tls";
import { assertEquals, assertStringIncludes } from "../assert.ts";
import { testCertificate } from "../_certificate.ts";
import { startDecisionDaemon } from "./_daemon.ts";

const RULES = 'action "l" maildir "$DIR/mail"\nmatch from any for local action "l"\n';

Deno.test("hostnames <t> names the server by the address the client reached", async () => {
  await using named = await startDecisionDaemon(`
listen on 127.0.0.1 port 0 hostname fallback.test hostnames { 127.0.0.1 = "mx.by-address.test" }
${RULES}`);
  const [banner, ehlo] = await named.dialogue(["EHLO client.test"]);
  assertEquals(banner, "220 mx.by-address.test ESMTP OpenSMTPD");
  assertStringIncludes(ehlo!, "250-mx.by-address.test Hello client.test [127.0.0.1]");
  await using other = await startDecisionDaemon(`
listen on 127.0.0.1 port 0 hostname fallback.test hostnames { 192.0.2.9 = "elsewhere.test" }
${RULES}`);
  assertEquals((await other.dialogue([]))[0], "220 fallback.test ESMTP OpenSMTPD");
});

const cert = await testCertificate("mx.example.test");
const ignore = cert === undefined;
if (ignore) console.log("TLS listener option tests skipped: openssl is not installed");

async function tlsListener(options: string) {
  return await startDecisionDaemon(
    `
pki mx.example.test cert "$DIR/mx.crt"
pki mx.example.test key "$DIR/mx.key"
listen on 127.0.0.1 port 0 smtps pki mx.example.test ${options}
${RULES}`,
    async (dir) => {
      await Deno.writeTextFile(`${dir}/mx.crt`, cert!.cert);
      await Deno.writeTextFile(`${dir}/mx.key`, cert!.key);
    },
  );
}

// What a client offering these settings ends up with: protocol and cipher, or the error.
function handshake(
  port: number,
  options: { maxVersion?: "TLSv1.2" | "TLSv1.3"; ciphers?: string },
): Promise<string> {
  return new Promise((resolve) => {
    const socket: TLSSocket = connect({
      host: "127.0.0.1",
      port,
      servername: "mx.example.test",
      ca: cert!.ca,
      ...options,
    });
    socket.once("secureConnect", () => {
      resolve(`${socket.getProtocol()} ${socket.getCipher().name}`);
      socket.destroy();
    });
    socket.once("error", () => {
      resolve("refused");
      socket.destroy();
    });
  });
}

Deno.test({
  name: "protocols bounds the TLS versions a client may negotiate",
  ignore,
  async fn() {
    {
      await using daemon = await tlsListener('protocols "tlsv1.3"');
      assertEquals(await handshake(daemon.port, { maxVersion: "TLSv1.2" }), "refused");
      assertEquals((await handshake(daemon.port, {})).split(" ")[0], "TLSv1.3");
    }
    {
      await using daemon = await tlsListener('protocols "secure,!tlsv1.3"');
      assertEquals((await handshake(daemon.port, {})).split(" ")[0], "TLSv1.2");
    }
  },
});

Deno.test("smtpd -n refuses an unknown TLS protocol with its position", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/smtpd.conf`;
  await Deno.writeTextFile(
    path,
    `listen on 127.0.0.1 protocols "tlsv1.2,sslv3"\n${RULES.replaceAll("$DIR", dir)}`,
  );
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL("../../cli.ts", import.meta.url).pathname, "-n", "-f", path],
    stdout: "piped",
    stderr: "piped",
  }).output();
  await Deno.remove(dir, { recursive: true });
  assertEquals(output.code, 1);
  assertStringIncludes(
    new TextDecoder().decode(output.stderr),
    `${path}:1:31: Unknown TLS protocol "sslv3"`,
  );
});
