// Lookups outside RCPT's decision meet a redis-server that is down: the senders check of
// MAIL FROM answers 451, a delivery whose userbase or relay credentials live there stays
// queued with the table's error and goes once the server is back, and the privileged
// parent takes an unanswered userbase lookup as a temporary failure, never a refusal.

import { loadConfig, startDaemon } from "../../mod.ts";
import { hashPassword } from "../../src/auth/mod.ts";
import type { Config } from "../../src/config/mod.ts";
import { createLogger } from "../../src/log/mod.ts";
import { checkUser, RefusedRequest } from "../../src/privsep/parent_checks.ts";
import { openRedisTable } from "../../src/tables/redis.ts";
import { assertEquals, assertRejects } from "../assert.ts";
import { freePort, OWN_IDS, readMaildir, SmtpTestClient, waitFor } from "../_helpers.ts";
import { testCertificate } from "../_certificate.ts";
import { kvServersMissing, REDIS_PASSWORD, startRedis } from "../_kv_servers.ts";

const missing = kvServersMissing();
type Daemon = Awaited<ReturnType<typeof startDaemon>>;

/** The lines of a redis table file for the server, with the given commands. */
function redisConf(port: number, queries: string[]): string {
  return [
    "master 127.0.0.1",
    `master_port ${port}`,
    `password ${REDIS_PASSWORD}`,
    "query_timeout 2s",
    ...queries,
  ].join("\n") + "\n";
}

async function started(conf: string, log: string[]): Promise<Daemon> {
  return await startDaemon({
    config: await loadConfig(conf),
    log: createLogger({ sink: (line) => log.push(line) }),
  });
}

/** Waits until the envelope to `rcpt` was tried and deferred with an error holding `what`. */
async function deferredWith(daemon: Daemon, rcpt: string, what: string): Promise<string> {
  return await waitFor(`the envelope to ${rcpt} to be deferred with "${what}"`, () => {
    const envelope = daemon.queue.envelopes().find((e) => e.rcpt === rcpt);
    const error = envelope?.lastError;
    return error?.includes(what) && envelope!.attempts > 0 ? error : undefined;
  }, 60_000);
}

/**
 * Schedules the queue now, again every second, until `arrived` finds the mail: the table's
 * client reconnects on its own schedule, so the first try after the restart may still
 * find it away (as an operator's `smtpctl schedule all` would).
 */
async function scheduleUntil<T>(
  daemon: Daemon,
  what: string,
  arrived: () => Promise<T | undefined>,
): Promise<T> {
  let last = 0;
  return await waitFor(what, async () => {
    const found = await arrived();
    if (found !== undefined) return found;
    if (Date.now() - last >= 1_000) {
      last = Date.now();
      daemon.queue.schedule({ all: true }, Date.now());
    }
    return undefined;
  }, 60_000);
}

async function send(port: number, rcpt: string, subject: string): Promise<void> {
  await using c = await SmtpTestClient.connect(port);
  await c.expect("220 ");
  await c.send("EHLO client.test");
  await c.expect("250 ");
  await c.send("MAIL FROM:<someone@far.test>");
  await c.expect("250 ");
  await c.send(`RCPT TO:<${rcpt}>`);
  await c.expect("250 ");
  await c.send("DATA");
  await c.expect("354 ");
  await c.sendRaw(`Subject: ${subject}\r\n\r\n${subject}\r\n.\r\n`);
  await c.expect("250 ");
}

Deno.test({
  name:
    "redis senders table: MAIL FROM of an authenticated user gets 451 while redis is down, never 553",
  ignore: missing !== undefined,
  async fn() {
    const certificate = await testCertificate("localhost");
    if (!certificate) {
      console.log("redis senders test skipped: openssl is not installed");
      return;
    }
    await using redis = await startRedis();
    const dir = await Deno.makeTempDir({ prefix: "smtpd-redis-senders-" });
    const log: string[] = [];
    let daemon: Daemon | undefined;
    try {
      await redis.cli("RPUSH", "senders:alice", "alice@example.test", "@alice.test");
      await Deno.writeTextFile(`${dir}/cert.pem`, certificate.cert);
      await Deno.writeTextFile(`${dir}/key.pem`, certificate.key);
      // The credentials are in a file: only the senders check asks redis.
      await Deno.writeTextFile(`${dir}/creds`, `alice ${hashPassword("alice-pw")}\n`);
      await Deno.writeTextFile(
        `${dir}/redis.conf`,
        redisConf(redis.port, ["query_mailaddrmap LRANGE senders:%s 0 -1"]),
      );
      const port = freePort();
      await Deno.writeTextFile(
        `${dir}/smtpd.conf`,
        `pki localhost cert "${dir}/cert.pem"
pki localhost key "${dir}/key.pem"
queue path "${dir}/queue"
table creds file:${dir}/creds
table senders redis:${dir}/redis.conf
listen on 127.0.0.1 port ${port} tls pki localhost auth <creds> senders <senders> hostname mx.example.test
action "local" maildir "${dir}/mail" virtual { "@example.test" = "vmail" } userbase { vmail = "${OWN_IDS}:/nonexistent" }
match auth from any for any action "local"
`,
      );
      daemon = await started(`${dir}/smtpd.conf`, log);
      await using c = await SmtpTestClient.connect(port);
      await c.expect("220 ");
      await c.send("EHLO client.test");
      await c.expect("250 ");
      await c.send("STARTTLS");
      await c.expect("220 ");
      await c.startTls({ hostname: "localhost", caCerts: [certificate.ca] });
      await c.send("EHLO client.test");
      await c.expect("250 ");
      await c.send(`AUTH PLAIN ${btoa("\0alice\0alice-pw")}`);
      await c.expect("235 ");
      const mailFrom = async (sender: string) => {
        await c.send(`MAIL FROM:<${sender}>`);
        const reply = await c.reply();
        if (reply.startsWith("250")) {
          await c.send("RSET");
          await c.expect("250 ");
        }
        return reply.slice(0, 3);
      };
      assertEquals(await mailFrom("alice@example.test"), "250");
      assertEquals(await mailFrom("bob@alice.test"), "250");
      assertEquals(await mailFrom("mallory@example.test"), "553");

      await redis.stop();
      const asked = Date.now();
      assertEquals(await mailFrom("alice@example.test"), "451", "MAIL FROM while redis is down");
      assertEquals(await mailFrom("mallory@example.test"), "451", "never a 553 while down");
      assertEquals(Date.now() - asked < 60_000, true, "answered within the command timeout");

      await redis.start();
      await waitFor("MAIL FROM to be accepted once redis is back", async () => {
        const code = await mailFrom("alice@example.test");
        if (code !== "250" && code !== "451") throw new Error(`MAIL FROM gave ${code}`);
        return code === "250" ? true : undefined;
      }, 60_000);
      assertEquals(await mailFrom("mallory@example.test"), "553");
      assertEquals(log.some((l) => l.includes("sender=<alice@example.test> tempfail")), true);
    } catch (error) {
      console.log(log.join("\n"));
      throw error;
    } finally {
      await daemon?.stop();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
});

Deno.test({
  name:
    "redis userbase: a delivery meeting a stopped redis stays queued with its error, and is delivered once redis is back",
  ignore: missing !== undefined,
  async fn() {
    await using redis = await startRedis();
    const dir = await Deno.makeTempDir({ prefix: "smtpd-redis-deferred-" });
    const log: string[] = [];
    let daemon: Daemon | undefined;
    try {
      const [uid, gid] = OWN_IDS.split(":") as [string, string];
      await redis.cli("HSET", "user:alice", "uid", uid, "gid", gid, "home", "/nonexistent");
      // RCPT reads only the file: sales@ names an address, whose user is found at delivery.
      await Deno.writeTextFile(
        `${dir}/virtuals`,
        "sales@example.test alice@example.test\nalice@example.test alice\n",
      );
      await Deno.writeTextFile(
        `${dir}/redis.conf`,
        redisConf(redis.port, ["query_userinfo HMGET user:%s uid gid home"]),
      );
      const port = freePort();
      await Deno.writeTextFile(
        `${dir}/smtpd.conf`,
        `queue path "${dir}/queue"
table virtuals file:${dir}/virtuals
table users redis:${dir}/redis.conf
listen on 127.0.0.1 port ${port} hostname mx.example.test
action "local" maildir "${dir}/mail/%{user.username}/Maildir" virtual <virtuals> userbase <users>
match from any for domain "example.test" action "local"
`,
      );
      daemon = await started(`${dir}/smtpd.conf`, log);
      await redis.stop();
      await send(port, "sales@example.test", "while redis is down");
      const error = await deferredWith(daemon, "sales@example.test", `Table "users"`);
      assertEquals(/unreachable|did not answer/.test(error), true, error);
      assertEquals(await readMaildir(`${dir}/mail/alice/Maildir`), []);

      await redis.start();
      const mail = await scheduleUntil(daemon, "alice's mail once redis is back", async () => {
        const files = await readMaildir(`${dir}/mail/alice/Maildir`);
        return files.length > 0 ? files : undefined;
      });
      assertEquals(mail.length, 1);
      assertEquals(mail[0]!.text.includes("while redis is down"), true);
      await waitFor("the queue to be empty", () => {
        return daemon!.queue.envelopes().length === 0 ? true : undefined;
      }, 60_000);
    } catch (error) {
      console.log(log.join("\n"));
      throw error;
    } finally {
      await daemon?.stop();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
});

Deno.test({
  name:
    "redis relay credentials: a relay whose auth table is down defers the mail with its error, and relays it once redis is back",
  ignore: missing !== undefined,
  async fn() {
    const certificate = await testCertificate("localhost");
    if (!certificate) {
      console.log("redis relay credentials test skipped: openssl is not installed");
      return;
    }
    await using redis = await startRedis();
    const dir = await Deno.makeTempDir({ prefix: "smtpd-redis-relay-" });
    const log: string[] = [];
    let peer: Daemon | undefined;
    let daemon: Daemon | undefined;
    try {
      await redis.cli("SET", "credentials:smarthost", "relay-user:relay-pw");
      await Deno.writeTextFile(`${dir}/cert.pem`, certificate.cert);
      await Deno.writeTextFile(`${dir}/key.pem`, certificate.key);
      await Deno.writeTextFile(`${dir}/peer-creds`, `relay-user ${hashPassword("relay-pw")}\n`);
      // The smarthost: a second daemon that takes mail only from an authenticated client.
      const peerPort = freePort();
      await Deno.writeTextFile(
        `${dir}/peer.conf`,
        `pki localhost cert "${dir}/cert.pem"
pki localhost key "${dir}/key.pem"
queue path "${dir}/peer-queue"
table creds file:${dir}/peer-creds
listen on 127.0.0.1 port ${peerPort} tls pki localhost auth <creds> hostname smarthost.test
action "in" maildir "${dir}/peer-mail" virtual { "@remote.test" = "vmail" } userbase { vmail = "${OWN_IDS}:/nonexistent" }
match auth from any for any action "in"
`,
      );
      await Deno.writeTextFile(
        `${dir}/redis.conf`,
        redisConf(redis.port, ["query_credentials GET credentials:%s"]),
      );
      const port = freePort();
      await Deno.writeTextFile(
        `${dir}/smtpd.conf`,
        `queue path "${dir}/queue"
table secrets redis:${dir}/redis.conf
listen on 127.0.0.1 port ${port} hostname mx.example.test
action "out" relay host smtp+tls://smarthost@127.0.0.1:${peerPort} tls no-verify auth <secrets>
match from any for domain "remote.test" action "out"
`,
      );
      peer = await started(`${dir}/peer.conf`, log);
      daemon = await started(`${dir}/smtpd.conf`, log);
      await redis.stop();
      await send(port, "carol@remote.test", "relayed after redis returns");
      const error = await deferredWith(daemon, "carol@remote.test", "credentials");
      assertEquals(error.includes(`Table "secrets"`), true, error);
      assertEquals(await readMaildir(`${dir}/peer-mail`), []);

      await redis.start();
      const mail = await scheduleUntil(daemon, "the smarthost to receive the mail", async () => {
        const files = await readMaildir(`${dir}/peer-mail`);
        return files.length > 0 ? files : undefined;
      });
      assertEquals(mail[0]!.text.includes("relayed after redis returns"), true);
      await waitFor("the queue to be empty", () => {
        return daemon!.queue.envelopes().length === 0 ? true : undefined;
      }, 60_000);
    } catch (error) {
      console.log(log.join("\n"));
      throw error;
    } finally {
      await daemon?.stop();
      await peer?.stop();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
});

Deno.test({
  name:
    "privsep checkUser(): a redis userbase is read where the parent checks a user; down, the check fails temporarily, not as a refusal",
  ignore: missing !== undefined,
  async fn() {
    await using redis = await startRedis();
    const path = await Deno.makeTempFile({ prefix: "redis-userbase-", suffix: ".conf" });
    await Deno.writeTextFile(
      path,
      redisConf(redis.port, ["query_userinfo HMGET user:%s uid gid home"]),
    );
    await redis.cli("HSET", "user:vmail", "uid", "5000", "gid", "5000", "home", "/var/vmail");
    const table = await openRedisTable("users", path);
    try {
      const ctx = {
        config: { actions: [{ name: "local", userbase: { name: "users" } }] } as unknown as Config,
        tables: new Map([["users", table]]),
        lookupUser: () => Promise.resolve(undefined),
      };
      const vmail = { name: "vmail", uid: 5000, gid: 5000, home: "/var/vmail" };
      assertEquals(await checkUser(vmail, ctx), vmail);
      await assertRejects(
        () => checkUser({ ...vmail, uid: 5001 }, ctx),
        RefusedRequest,
        "neither a system account nor in a userbase table",
      );
      await redis.stop();
      const error = await checkUser(vmail, ctx).then(() => undefined, (e: unknown) => e);
      assertEquals(error instanceof Error && !(error instanceof RefusedRequest), true);
      assertEquals(String((error as Error).message).includes(`Table "users"`), true);
    } finally {
      await table.close();
      await Deno.remove(path);
    }
  },
});

Deno.test({
  name:
    "redis helo-src table: the relay greets with the name redis gives its address; down, the mail waits in the queue",
  ignore: missing !== undefined,
  async fn() {
    await using redis = await startRedis();
    const dir = await Deno.makeTempDir({ prefix: "smtpd-redis-helo-" });
    const log: string[] = [];
    let peer: Daemon | undefined;
    let daemon: Daemon | undefined;
    try {
      await redis.cli("SET", "addrname:127.0.0.1", "out.example.test");
      const peerPort = freePort();
      await Deno.writeTextFile(
        `${dir}/peer.conf`,
        `queue path "${dir}/peer-queue"
listen on 127.0.0.1 port ${peerPort} hostname peer.test
action "in" maildir "${dir}/peer-mail" virtual { "@remote.test" = "vmail" } userbase { vmail = "${OWN_IDS}:/nonexistent" }
match from any for domain "remote.test" action "in"
`,
      );
      await Deno.writeTextFile(
        `${dir}/redis.conf`,
        redisConf(redis.port, ["query_addrname GET addrname:%s"]),
      );
      const port = freePort();
      await Deno.writeTextFile(
        `${dir}/smtpd.conf`,
        `queue path "${dir}/queue"
table names redis:${dir}/redis.conf
listen on 127.0.0.1 port ${port} hostname mx.example.test
action "out" relay host smtp://127.0.0.1:${peerPort} helo-src <names>
match from any for domain "remote.test" action "out"
`,
      );
      peer = await started(`${dir}/peer.conf`, log);
      daemon = await started(`${dir}/smtpd.conf`, log);
      await redis.stop();
      await send(port, "dave@remote.test", "named by redis");
      const error = await deferredWith(daemon, "dave@remote.test", "helo-src");
      assertEquals(error.includes(`Table "names"`), true, error);
      assertEquals(await readMaildir(`${dir}/peer-mail`), []);

      await redis.start();
      const mail = await scheduleUntil(daemon, "the peer to receive the mail", async () => {
        const files = await readMaildir(`${dir}/peer-mail`);
        return files.length > 0 ? files : undefined;
      });
      assertEquals(mail[0]!.text.includes("named by redis"), true);
      assertEquals(/Received: from out\.example\.test /.test(mail[0]!.text), true, mail[0]!.text);
    } catch (error) {
      console.log(log.join("\n"));
      throw error;
    } finally {
      await daemon?.stop();
      await peer?.stop();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
});
