// A receiving SMTP server on 127.0.0.1 for outbound TLS tests: it offers STARTTLS with the
// certificate chain it is given (or not at all), takes every message, and records what it
// was told and whether that came over TLS. Also: TLSA record data of a certificate,
// computed with openssl, as a zone publisher would.

import { createServer, type Server, type Socket } from "node:net";
import { TLSSocket } from "node:tls";
import { Buffer } from "node:buffer";

/** What the server presents. */
export interface StartTlsServerOptions {
  /** PEM: the server's certificate followed by any chain it sends. */
  readonly cert?: string;
  readonly key?: string;
  /** False: EHLO does not offer STARTTLS. */
  readonly offerTls?: boolean;
}

/** One message as received. */
export interface ReceivedMessage {
  readonly sender: string;
  readonly recipients: string[];
  readonly data: string;
  readonly tls: boolean;
}

/** A running server. */
export interface StartTlsServer {
  readonly port: number;
  readonly messages: ReceivedMessage[];
  /** Commands seen, per connection, with "(tls)" after STARTTLS. */
  readonly sessions: string[][];
  stop(): Promise<void>;
}

/** Starts the server on a free port. */
export async function startStartTlsServer(options: StartTlsServerOptions): Promise<StartTlsServer> {
  const messages: ReceivedMessage[] = [];
  const sessions: string[][] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket: Socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    const seen: string[] = [];
    sessions.push(seen);
    serve(socket, options, seen, messages);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  return {
    port: (server.address() as { port: number }).port,
    messages,
    sessions,
    stop: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

function serve(
  plain: Socket,
  options: StartTlsServerOptions,
  seen: string[],
  messages: ReceivedMessage[],
): void {
  let socket: Socket = plain;
  let tls = false;
  let pending = "";
  let data: string[] | undefined;
  let sender = "";
  let recipients: string[] = [];
  const say = (text: string) => socket.write(`${text}\r\n`);
  const onLine = (line: string) => {
    if (data) {
      if (line !== ".") return void data.push(line);
      messages.push({ sender, recipients, data: data.join("\n"), tls });
      data = undefined;
      return say("250 2.0.0 queued");
    }
    seen.push(tls ? `${line} (tls)` : line);
    const verb = line.split(/[ :]/)[0]!.toUpperCase();
    if (verb === "EHLO") {
      const offer = options.offerTls !== false && !tls && options.cert;
      say(offer ? "250-mx.test\r\n250 STARTTLS" : "250 mx.test");
    } else if (verb === "STARTTLS" && options.cert && options.key) {
      say("220 2.0.0 ready");
      socket.removeAllListeners("data");
      plain.pause();
      const secure = new TLSSocket(plain, { isServer: true, cert: options.cert, key: options.key });
      secure.on("error", () => secure.destroy());
      socket = secure;
      tls = true;
      secure.on("data", onData);
    } else if (verb === "MAIL") {
      sender = line.slice(10).replace(/[<>]/g, "").split(" ")[0]!;
      recipients = [];
      say("250 2.1.0 ok");
    } else if (verb === "RCPT") {
      recipients.push(line.slice(8).replace(/[<>]/g, "").split(" ")[0]!);
      say("250 2.1.5 ok");
    } else if (verb === "DATA") {
      data = [];
      say("354 go ahead");
    } else if (verb === "RSET" || verb === "NOOP") {
      say("250 2.0.0 ok");
    } else if (verb === "QUIT") {
      say("221 2.0.0 bye");
      socket.end();
    } else {
      say("502 5.5.2 not here");
    }
  };
  const onData = (chunk: Buffer) => {
    pending += chunk.toString("latin1");
    let end;
    while ((end = pending.indexOf("\r\n")) >= 0) {
      const line = pending.slice(0, end);
      pending = pending.slice(end + 2);
      onLine(line);
    }
  };
  plain.on("error", () => plain.destroy());
  plain.on("data", onData);
  say("220 mx.test ESMTP");
}

/**
 * The data of a TLSA record for a PEM certificate: selector 0 (certificate) or 1 (public
 * key), matching type 0 (whole), 1 (SHA-256) or 2 (SHA-512), in hex.
 */
export async function tlsaData(pem: string, selector: 0 | 1, matching: 0 | 1 | 2): Promise<string> {
  const run = async (args: string[], input: Uint8Array): Promise<Uint8Array> => {
    const child = new Deno.Command("openssl", { args, stdin: "piped", stdout: "piped" }).spawn();
    const writer = child.stdin.getWriter();
    await writer.write(input);
    await writer.close();
    const output = await child.output();
    if (!output.success) throw new Error(`openssl ${args.join(" ")} failed`);
    return output.stdout;
  };
  const der = selector === 0
    ? await run(["x509", "-outform", "DER"], new TextEncoder().encode(pem))
    : await run(
      ["pkey", "-pubin", "-outform", "DER"],
      await run(["x509", "-noout", "-pubkey"], new TextEncoder().encode(pem)),
    );
  if (matching === 0) return Buffer.from(der).toString("hex");
  const digest = await run(["dgst", matching === 1 ? "-sha256" : "-sha512", "-binary"], der);
  return Buffer.from(digest).toString("hex");
}
