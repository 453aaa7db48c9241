// Event lines: OpenSMTPD's text, read back field for field, and the JSON lines with the same fields.

import { assertEquals } from "../../test/assert.ts";
import {
  durationText,
  formatEventText,
  jsonLogger,
  type LogEvent,
  parseEventText,
  quoted,
} from "./events.ts";

const failed: LogEvent = {
  id: "0123456789abcdef",
  subsystem: "smtp",
  event: "failed-command",
  fields: { command: quoted('RCPT TO:<"a b"@x.test>'), result: quoted("550 5.1.1 Invalid") },
};

Deno.test("an event is written as OpenSMTPD's text line, quotes escaped", () => {
  assertEquals(
    formatEventText(failed),
    '0123456789abcdef smtp failed-command command="RCPT TO:<\\"a b\\"@x.test>" result="550 5.1.1 Invalid"',
  );
});

Deno.test("a text line is read back with the same fields, quoted or not", () => {
  const mda: LogEvent = {
    id: "fedcba9876543210",
    subsystem: "mda",
    event: "delivery",
    fields: {
      evpid: "1234567812345678",
      from: "<>",
      to: "<u@example.test>",
      rcpt: "<u@example.test>",
      user: "u",
      delay: "1m5s",
      result: "Ok",
      stat: "Delivered",
    },
  };
  for (const event of [failed, mda]) {
    assertEquals(parseEventText(formatEventText(event)), event);
  }
  assertEquals(parseEventText("smtpd: ready, queue in /var/spool"), undefined);
});

Deno.test("the JSON logger writes one object a line with the event's fields", () => {
  const written: string[] = [];
  const log = jsonLogger((line) => written.push(line), false);
  log.event(failed);
  // A text line (from the privilege-separated front) becomes the same object.
  log.info(formatEventText(failed));
  log.info("smtpd: ready");
  log.debug("not shown");
  const [a, b, c] = written.map((l) => JSON.parse(l));
  for (const object of [a, b]) {
    assertEquals(typeof object.time, "string");
    delete object.time;
    assertEquals(object, {
      level: "info",
      id: "0123456789abcdef",
      subsystem: "smtp",
      event: "failed-command",
      command: 'RCPT TO:<"a b"@x.test>',
      result: "550 5.1.1 Invalid",
    });
  }
  assertEquals([c.level, c.message], ["info", "smtpd: ready"]);
  assertEquals(written.length, 3);
});

Deno.test("delays are written as OpenSMTPD's duration_to_text", () => {
  assertEquals(
    [0, 42, 65, 3600, 90061].map(durationText),
    ["0s", "42s", "1m5s", "1h", "1d1h1m1s"],
  );
});
