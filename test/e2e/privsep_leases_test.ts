// Started as root, the daemon's SMTP front is killed with SIGKILL while it holds envelopes
// (relays to a server that accepts and never greets): once the daemon is started again,
// those envelopes are delivered at once, not after their 30-minute lease. Skipped, with
// the reason printed, when not root or without setpriv.

import { assertEquals, assertStringIncludes } from "../assert.ts";
import { startCountingSink } from "../_counting_sink.ts";
import { freePort, sendMessage, waitFor } from "../_helpers.ts";
import {
  ensureFrontUser,
  frontOf,
  type LoggedDaemon,
  skipReason,
  startLoggedDaemon,
} from "./_privsep.ts";
import { smtpctlJson, smtpctlOk } from "./_smtpctl.ts";

interface Listed {
  readonly evpid: string;
  readonly rcpt: string;
  readonly leaseOwner?: string;
}

// A relay that accepts connections and never answers: an attempt to it runs until killed.
function startSilentRelay(): { port: number; accepted: () => number; stop(): void } {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const conns: Deno.Conn[] = [];
  (async () => {
    for await (const conn of listener) conns.push(conn);
  })().catch(() => {});
  return {
    port: (listener.addr as Deno.NetAddr).port,
    accepted: () => conns.length,
    stop() {
      for (const closable of [listener, ...conns.splice(0)]) {
        try {
          closable.close();
        } catch {
          // Closed already.
        }
      }
    },
  };
}

// Kills the front once `attempts` relay attempts in all are under way; its pid.
async function killFrontWhileHeld(
  daemon: LoggedDaemon,
  silent: { accepted(): number },
  attempts: number,
): Promise<number> {
  await waitFor("the relay attempts", () => silent.accepted() >= attempts || undefined, 60_000);
  const front = (await frontOf(daemon.pid))!;
  Deno.kill(front, "SIGKILL");
  await daemon.exited();
  return front;
}

function config(dir: string, port: number, relayPort: number): string {
  return `queue path "${dir}/queue"
listen on 127.0.0.1 port ${port}
action "out" relay host smtp+notls://127.0.0.1:${relayPort}
match from any for domain "relay.test" action "out"
`;
}

Deno.test("as root, envelopes a killed front held are delivered at the next start, and can be removed before", async () => {
  const skip = skipReason() ?? await ensureFrontUser();
  if (skip) {
    console.log(`skipped: privilege separation leases test: ${skip}`);
    return;
  }
  const dir = await Deno.makeTempDir({ prefix: "smtpd-privsep-leases-" });
  await Deno.chmod(dir, 0o755);
  const silent = startSilentRelay();
  const sink = startCountingSink();
  let daemon: LoggedDaemon | undefined;
  try {
    const port = freePort();
    const conf = `${dir}/smtpd.conf`;
    await Deno.writeTextFile(conf, config(dir, port, silent.port));
    daemon = await startLoggedDaemon(["-f", conf], port);
    for (const to of ["kept@relay.test", "doomed@relay.test"]) {
      const reply = await sendMessage(port, {
        from: "a@local.test",
        to: [to],
        body: "Subject: held\n\nhi\n",
      });
      assertEquals(reply.slice(0, 4), "250 ");
    }
    // Both are being relayed (leased to the front), which is killed.
    await killFrontWhileHeld(daemon, silent, 2);
    daemon = undefined;

    // Started again, the parent takes their leases back: they are tried again at once.
    daemon = await startLoggedDaemon(["-f", conf], port);
    assertStringIncludes(daemon.log(), "privsep: took back 2 envelope(s) from gone processes");
    await waitFor("two more relay attempts", () => silent.accepted() >= 4 || undefined, 60_000);
    assertEquals(
      await smtpctlOk(conf, ["remove", "all"]),
      "0 envelope removed, 2 in flight not removed\n",
    );
    const front = await killFrontWhileHeld(daemon, silent, 4);
    daemon = undefined;
    silent.stop();

    // Offline, smtpctl (root, reading /proc) tells that their holder is gone: they go.
    const listed = (await smtpctlJson<{ envelopes: Listed[] }>(conf, ["show", "queue"]))
      .envelopes;
    assertEquals(listed.map((e) => e.leaseOwner?.split(/[:@]/)[1] === String(front)), [true, true]);
    const doomed = listed.find((e) => e.rcpt === "doomed@relay.test")!;
    assertEquals(await smtpctlOk(conf, ["remove", doomed.evpid]), "1 envelope removed\n");

    await Deno.writeTextFile(conf, config(dir, port, sink.port));
    daemon = await startLoggedDaemon(["-f", conf], port);
    await waitFor("the relayed message", () => sink.arrivals.length > 0 || undefined, 60_000);
    assertEquals(sink.arrivals.map((a) => a.rcpts), [["kept@relay.test"]]);
    await waitFor("an empty queue", async () => {
      const left = await smtpctlJson<{ envelopes: Listed[] }>(conf, ["show", "queue"]);
      return left.envelopes.length === 0 || undefined;
    }, 60_000);
    assertEquals(await daemon.stop(), 0);
    daemon = undefined;
  } finally {
    await daemon?.kill();
    silent.stop();
    await sink.stop();
    await Deno.remove(dir, { recursive: true });
  }
});
