import { assertEquals } from "../../test/assert.ts";
import { formatReply } from "./replies.ts";
import { checkMailParameters, checkRcptParameters } from "./parameters.ts";

const DSN_ON = { maxMessageSize: 1000, dsn: true };
const DSN_OFF = { maxMessageSize: 1000, dsn: false };

// The reply as the client reads it, or undefined when the parameters pass.
function mail(params: [string, string][], options = DSN_ON): string | undefined {
  const reply = checkMailParameters(new Map(params), options);
  return reply && formatReply(reply);
}

function rcpt(params: [string, string][], dsn = true): string | undefined {
  const reply = checkRcptParameters(new Map(params), { dsn });
  return reply && formatReply(reply);
}

Deno.test("checkMailParameters() accepts the keywords the EHLO reply offers", () => {
  assertEquals(
    mail([["SIZE", "1000"], ["BODY", "8bitmime"], ["AUTH", "<>"], ["SMTPUTF8", ""]]),
    undefined,
  );
  assertEquals(mail([["BODY", "7BIT"], ["RET", "HDRS"], ["ENVID", "x"]]), undefined);
});

Deno.test("checkMailParameters() refuses SIZE over the limit with 552, a bad SIZE with 501", () => {
  assertEquals(
    mail([["SIZE", "1001"]]),
    "552 5.3.4 Message size exceeds fixed maximum message size\r\n",
  );
  assertEquals(mail([["SIZE", "12k"]]), "501 5.5.4 Invalid command arguments\r\n");
  assertEquals(mail([["SIZE", "1".repeat(21)]]), "501 5.5.4 Invalid command arguments\r\n");
});

Deno.test("checkMailParameters() refuses BODY=BINARYMIME and a valued SMTPUTF8", () => {
  assertEquals(mail([["BODY", "BINARYMIME"]]), "501 5.5.4 Invalid command arguments\r\n");
  assertEquals(mail([["SMTPUTF8", "yes"]]), "501 5.5.4 Invalid command arguments\r\n");
});

Deno.test("checkMailParameters() names an unknown keyword, and DSN's without DSN", () => {
  assertEquals(mail([["XFOO", "1"]]), "555 5.5.4 Unsupported option: XFOO\r\n");
  assertEquals(mail([["RET", "FULL"]], DSN_OFF), "555 5.5.4 Unsupported option: RET\r\n");
  assertEquals(mail([["ENVID", "x"]], DSN_OFF), "555 5.5.4 Unsupported option: ENVID\r\n");
});

Deno.test("checkMailParameters() refuses the first bad parameter in the order given", () => {
  assertEquals(mail([["XFOO", ""], ["SIZE", "5000"]]), "555 5.5.4 Unsupported option: XFOO\r\n");
  assertEquals(
    mail([["SIZE", "5000"], ["XFOO", ""]]),
    "552 5.3.4 Message size exceeds fixed maximum message size\r\n",
  );
});

Deno.test("checkRcptParameters() accepts NOTIFY and ORCPT only with DSN on", () => {
  assertEquals(rcpt([["NOTIFY", "NEVER"], ["ORCPT", "rfc822;a@b.test"]]), undefined);
  assertEquals(rcpt([["NOTIFY", "NEVER"]], false), "555 5.5.4 Unsupported option: NOTIFY\r\n");
  assertEquals(rcpt([["ORCPT", "rfc822;a@b"]], false), "555 5.5.4 Unsupported option: ORCPT\r\n");
  assertEquals(rcpt([["SIZE", "10"]]), "555 5.5.4 Unsupported option: SIZE\r\n");
});
