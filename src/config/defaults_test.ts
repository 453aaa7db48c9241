import { assertEquals } from "../../test/assert.ts";
import {
  configPath,
  DEFAULT_CONFIG_PATH,
  DEFAULT_SMTP_LIMITS,
  DEFAULTS,
  WELL_KNOWN_PORTS,
} from "./defaults.ts";
import { parseConfig } from "./load.ts";
import { printConfig } from "./print.ts";
import { formatDuration } from "./units.ts";

Deno.test("parseConfig() of an empty file takes every default from DEFAULTS", () => {
  const { config, diagnostics } = parseConfig("", { file: "empty.conf" });
  assertEquals(diagnostics, []);
  assertEquals(config?.queue.ttl, DEFAULTS.queueTtl);
  assertEquals(config?.queue.ttl, 4 * 24 * 3600);
  assertEquals(config?.smtp.maxMessageSize, DEFAULT_SMTP_LIMITS.maxMessageSize);
  assertEquals(config?.smtp.maxRcpt, DEFAULT_SMTP_LIMITS.maxRcpt);
  assertEquals(config?.smtp.maxMails, DEFAULT_SMTP_LIMITS.maxMails);
  assertEquals(config?.smtp.subAddrDelim, DEFAULTS.subAddrDelim);
  assertEquals(config?.bounceWarnIntervals, [DEFAULTS.bounceWarnInterval]);
});

Deno.test("parseConfig() gives a listener the well-known port of its protocol", () => {
  const { config } = parseConfig("listen on 127.0.0.1\nlisten on 127.0.0.1 smtps\n", {
    file: "ports.conf",
  });
  assertEquals(config?.listeners.map((l) => l.port), [
    WELL_KNOWN_PORTS.smtp,
    WELL_KNOWN_PORTS.smtps,
  ]);
});

Deno.test("printConfig() leaves out a queue ttl that is the default, and prints any other", () => {
  const print = (text: string) => printConfig(parseConfig(text, { file: "q.conf" }).config!);
  const stated = print(`queue ttl ${formatDuration(DEFAULTS.queueTtl)}\n`);
  assertEquals(stated, print(""));
  assertEquals(stated.includes("queue ttl"), false);
  const longer = print(`queue ttl ${formatDuration(DEFAULTS.queueTtl + 86400)}\n`);
  assertEquals(longer.includes(`queue ttl ${formatDuration(DEFAULTS.queueTtl + 86400)}`), true);
});

Deno.test("configPath() prefers the path its flag names", () => {
  assertEquals(configPath("given.conf"), "given.conf");
  assertEquals(DEFAULT_CONFIG_PATH, "/etc/mail/smtpd.conf");
});
