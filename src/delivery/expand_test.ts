import { assertEquals } from "../../test/assert.ts";
import type { Action } from "../config/mod.ts";
import type { QueuedEnvelope } from "../queue/mod.ts";
import { StaticTable } from "../tables/mod.ts";
import { type ExpandContext, expandEnvelope } from "./expand.ts";

const position = { file: "t.conf", line: 1, column: 1 };

function context(aliases: Record<string, string>, forwards: Record<string, string[]> = {}) {
  const action: Action = {
    name: "local",
    method: { kind: "maildir", junk: false },
    alias: { name: "aliases", position },
    position,
  };
  const ctx: ExpandContext = {
    action,
    tables: new Map([["aliases", new StaticTable("aliases", "map", Object.entries(aliases))]]),
    subAddrDelim: "+",
    lookupUser: (name) =>
      Promise.resolve(
        ["alice", "bob", "carol"].includes(name)
          ? { name, uid: 1000, gid: 1000, home: `/home/${name}` }
          : undefined,
      ),
    readForward: (user) => Promise.resolve(forwards[user.name]),
    readInclude: () => Promise.resolve("carol\n"),
    route: (address) =>
      address.endsWith("@elsewhere.test")
        ? { action: "relay" }
        : address.endsWith("@example.test")
        ? { action: "local" }
        : undefined,
    aliasUser: "",
  };
  return ctx;
}

function envelope(rcpt: string, extra: Partial<QueuedEnvelope> = {}): QueuedEnvelope {
  return {
    evpid: "0000000100000001",
    msgid: "00000001",
    sender: "s@x.test",
    rcpt,
    action: "local",
    createdAt: 0,
    attempts: 0,
    expiresAt: 1,
    warned: 0,
    ...extra,
  };
}

Deno.test("expandEnvelope(): a plain user is delivered as it is, with its sub-address", async () => {
  const result = await expandEnvelope(envelope("alice+news@example.test"), context({}));
  assertEquals(result.kind === "deliver" && [result.user.name, result.extension], [
    "alice",
    "news",
  ]);
});

Deno.test("expandEnvelope(): aliases fan out to users, commands, files, includes and addresses", async () => {
  const result = await expandEnvelope(
    envelope("team@example.test"),
    context({
      team: "alice, staff, |/bin/archive, /var/spool/team, :include:/etc/list, x@elsewhere.test",
      staff: "bob",
    }),
  );
  assertEquals(result.kind, "expand");
  if (result.kind !== "expand") return;
  assertEquals(result.children.map((c) => [c.action, c.target ?? c.dest, c.hops]), [
    ["local", "alice", 1],
    ["local", "bob", 1],
    ["local", "carol", 1],
    ["local", "|/bin/archive", 1],
    ["local", "/var/spool/team", 1],
    ["relay", "x@elsewhere.test", 1],
  ]);
});

Deno.test("expandEnvelope(): alias loops end, and too many hops fail for good", async () => {
  const loop = await expandEnvelope(
    envelope("a@example.test"),
    context({ a: "b", b: "a, alice" }),
  );
  // a → b → (a seen: the user "a", unknown) + alice: alice still gets it, and the
  // unknown user fails on its own (the sender hears of it).
  assertEquals(loop.kind === "expand" && loop.children.map((c) => c.target), [
    "alice",
    'error:5.1.1 unknown user "a"',
  ]);
  const deep = await expandEnvelope(envelope("alice@example.test", { hops: 10 }), context({}));
  assertEquals(deep.kind === "error" && deep.permanent, true);
});

Deno.test("expandEnvelope(): ~/.forward replaces delivery; \\self keeps a copy", async () => {
  const result = await expandEnvelope(
    envelope("alice@example.test"),
    context({}, { alice: ["\\alice", "y@elsewhere.test", '"|/usr/bin/vacation alice"'] }),
  );
  assertEquals(
    result.kind === "expand" && result.children.map((c) => [c.target ?? c.dest, c.user]),
    [
      ["alice", "alice"],
      ["|/usr/bin/vacation alice", "alice"],
      ["y@elsewhere.test", undefined],
    ],
  );
});

Deno.test("expandEnvelope(): unknown users and unroutable addresses fail permanently", async () => {
  const result = await expandEnvelope(
    envelope("list@example.test"),
    context({ list: "ghost, z@nowhere.test" }),
  );
  assertEquals(result.kind, "error");
  assertEquals(result.kind === "error" && result.permanent, true);
});

Deno.test("expandEnvelope(): a user name in ~/.forward is a local user, whose .forward is read too", async () => {
  const alone = await expandEnvelope(
    envelope("alice@example.test"),
    context({}, { alice: ["bob"] }),
  );
  assertEquals(alone.kind === "expand" && alone.children.map((c) => [c.target, c.dest]), [
    ["bob", "bob@example.test"],
  ]);
  const chained = await expandEnvelope(
    envelope("alice@example.test"),
    context({ staff: "carol" }, { alice: ["\\alice", "bob"], bob: ["staff", "alice"] }),
  );
  // bob's .forward names an alias and alice, whose copy she has already.
  assertEquals(chained.kind === "expand" && chained.children.map((c) => c.target), [
    "alice",
    "carol",
  ]);
});

Deno.test("expandEnvelope(): what cannot be routed fails on its own beside what can", async () => {
  const result = await expandEnvelope(
    envelope("alice@example.test"),
    context({}, { alice: ["\\alice", "ghost", "z@nowhere.test"] }),
  );
  assertEquals(result.kind === "expand" && result.children.map((c) => [c.target, c.dest]), [
    ["alice", "alice@example.test"],
    ['error:5.1.1 unknown user "ghost"', "ghost@example.test"],
    ["error:5.7.1 no rule accepts the expanded address <z@nowhere.test>", "z@nowhere.test"],
  ]);
});

Deno.test("expandEnvelope(): a .forward loop through addresses is cut where it began", async () => {
  const forwards = {
    alice: ["\\alice", "bob@example.test"],
    bob: ["\\bob", "alice@example.test"],
  };
  const first = await expandEnvelope(envelope("alice@example.test"), context({}, forwards));
  if (first.kind !== "expand") throw new Error(`expected an expansion, got ${first.kind}`);
  assertEquals(first.children.map((c) => c.target ?? c.dest), ["alice", "bob@example.test"]);
  const onward = first.children[1]!;
  // The child carries the tree: bob's copy, and alice is not gone back to.
  const second = await expandEnvelope(
    envelope("alice@example.test", {
      dest: onward.dest!,
      hops: onward.hops!,
      ...(onward.expanded ? { expanded: onward.expanded } : {}),
    }),
    context({}, forwards),
  );
  assertEquals(second.kind === "deliver" && second.user.name, "bob");
  // Without a copy of its own anywhere, the loop is an error, not a silent end.
  const bare = await expandEnvelope(
    envelope("alice@example.test", { dest: "bob@example.test", expanded: ["alice@example.test"] }),
    context({}, { bob: ["alice@example.test"] }),
  );
  assertEquals(bare.kind === "error" && bare.reason.startsWith("5.4.6 "), true);
});

Deno.test("expandEnvelope(): chained virtual entries deliver once per address, each its own %{dest}", async () => {
  const ctx = context({});
  const virtuals = {
    "abuse@example.org": "gilles@example.org",
    "gilles@example.org": "vmail",
    "eric@example.org": "vmail",
    "team@example.org": "gilles@example.org, eric@example.org",
    "all@example.org": "team@example.org, gilles@example.org",
  };
  const virtualCtx: ExpandContext = {
    ...ctx,
    action: {
      name: "local",
      method: { kind: "maildir", junk: false },
      virtual: { name: "virtuals", position },
      position,
    },
    tables: new Map([["virtuals", new StaticTable("virtuals", "map", Object.entries(virtuals))]]),
    lookupUser: (name) =>
      Promise.resolve(
        name === "vmail" ? { name, uid: 4242, gid: 4242, home: "/var/vmail" } : undefined,
      ),
  };
  const dests = async (rcpt: string) => {
    const result = await expandEnvelope(envelope(rcpt), virtualCtx);
    assertEquals(result.kind, "expand", rcpt);
    return result.kind === "expand" ? result.children.map((c) => [c.target, c.dest]) : [];
  };
  // abuse@ is gilles@'s mail: it goes where gilles@'s goes.
  assertEquals(await dests("abuse@example.org"), [["vmail", "gilles@example.org"]]);
  // A list: one copy for each member, not one for the user they share.
  assertEquals(await dests("team@example.org"), [
    ["vmail", "gilles@example.org"],
    ["vmail", "eric@example.org"],
  ]);
  // A member reached twice still gets one copy.
  assertEquals(await dests("all@example.org"), [
    ["vmail", "gilles@example.org"],
    ["vmail", "eric@example.org"],
  ]);
});
