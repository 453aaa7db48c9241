import { assertEquals } from "../../test/assert.ts";
import { CONTROL_COMMANDS, matchCommand, UNPRIVILEGED_COMMANDS } from "./command_grammar.ts";

Deno.test("CONTROL_COMMANDS holds each command once, and every one is matched by its own words", () => {
  assertEquals(new Set(CONTROL_COMMANDS).size, CONTROL_COMMANDS.length);
  for (const command of CONTROL_COMMANDS) {
    const words = command.split(" ").map((t) =>
      t === "<evpid>" || t === "<id>"
        ? "0123456789abcdef"
        : t === "<msgid>"
        ? "0123abcd"
        : t === "<routeid>"
        ? "7"
        : t.startsWith("<")
        ? "x"
        : t
    );
    assertEquals(matchCommand(words)?.command, command, command);
  }
  for (const command of UNPRIVILEGED_COMMANDS) {
    assertEquals(CONTROL_COMMANDS.includes(command), true);
  }
});

Deno.test("matchCommand() takes unambiguous prefixes and refuses ambiguous or unknown words", () => {
  assertEquals(matchCommand(["sh", "q"]), { command: "show queue", params: [] });
  assertEquals(matchCommand(["sh", "q", "0123ABCD"]), {
    command: "show queue <msgid>",
    params: ["0123ABCD"],
  });
  // A message id, not an envelope id: OpenSMTPD's show queue takes a msgid alone.
  assertEquals(matchCommand(["show", "queue", "0123456789abcdef"]), undefined);
  assertEquals(matchCommand(["sh", "ro"]), { command: "show routes", params: [] });
  assertEquals(matchCommand(["sch", "a"]), { command: "schedule all", params: [] });
  assertEquals(matchCommand(["remove", "0123abcd"]), {
    command: "remove <id>",
    params: ["0123abcd"],
  });
  // "stat" starts both stats and status; "s" starts show, schedule and spf.
  assertEquals(matchCommand(["sh", "stat"]), undefined);
  assertEquals(matchCommand(["s", "queue"]), undefined);
  // An envelope id is 16 hex digits: a message id does not name one envelope.
  assertEquals(matchCommand(["show", "envelope", "0123abcd"]), undefined);
  assertEquals(matchCommand(["show"]), undefined);
  assertEquals(matchCommand(["frobnicate"]), undefined);
  assertEquals(matchCommand([]), undefined);
});
