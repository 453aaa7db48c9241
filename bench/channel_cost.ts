// What one request and its answer cost between the parent and a child, on the channel
// the daemon uses (a unix socket, src/mail/child_channel.ts) and on the child's standard
// input and output: N round trips of a small frame, one at a time as a lone session's
// requests go, with the CPU time of both processes from /proc. The runtime reads and
// writes a process's own standard streams by a call in a thread each, a socket on its
// event loop.
//
//   deno run -A bench/channel_cost.ts [--trips 20000] [--size 200] [--rounds 3]

import { parseArgs } from "node:util";
import {
  channelStdio,
  childChannel,
  offerChannel,
  parentChannel,
  reusedChunks,
} from "../src/mail/mod.ts";

const { values } = parseArgs({
  options: {
    trips: { type: "string", default: "20000" },
    size: { type: "string", default: "200" },
    rounds: { type: "string", default: "3" },
    child: { type: "boolean", default: false },
  },
});

// The child: echoes what it reads, on whichever channel its environment gives it.
if (values.child) {
  const channel = await parentChannel();
  const writer = channel.writable.getWriter();
  // Reads into one buffer, as the daemon's readers do (a chunk is written before the next read).
  for await (const chunk of reusedChunks(channel.readable)) await writer.write(chunk);
  await writer.close();
  await channel.close();
  Deno.exit(0);
}

const TRIPS = Number(values.trips);
const SIZE = Number(values.size);
const ROUNDS = Number(values.rounds);

// utime + stime of a process, in ms (clock ticks of 10 ms, as Linux reports them).
function cpuMs(pid: number): number {
  const fields = Deno.readTextFileSync(`/proc/${pid}/stat`).split(") ")[1]!.split(" ");
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

async function roundTrips(socket: boolean): Promise<{ parentUs: number; childUs: number }> {
  const offer = socket ? offerChannel({ uid: Deno.uid() ?? 0, gid: Deno.gid() ?? 0 }) : undefined;
  if (socket && !offer) throw new Error("this runtime may not listen on a unix socket");
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL(import.meta.url).pathname, "--child"],
    env: offer?.env ?? {},
    ...channelStdio(offer),
  }).spawn();
  const channel = childChannel(child, offer);
  const writer = channel.writable.getWriter();
  const reader = reusedChunks(channel.readable);
  const frame = new Uint8Array(SIZE).fill(0x41);
  // One answer for each request: read until the frame's bytes are all back.
  const trip = async () => {
    await writer.write(frame);
    for (let got = 0; got < SIZE;) {
      const { value, done } = await reader.next();
      if (done) throw new Error("the child ended the channel");
      got += value.byteLength;
    }
  };
  await trip(); // the child has started and connected
  const parent0 = cpuMs(Deno.pid);
  const child0 = cpuMs(child.pid);
  for (let i = 0; i < TRIPS; i++) await trip();
  const parentUs = (cpuMs(Deno.pid) - parent0) * 1000 / TRIPS;
  const childUs = (cpuMs(child.pid) - child0) * 1000 / TRIPS;
  await writer.close();
  await reader.return(undefined);
  await child.status;
  await channel.close();
  return { parentUs, childUs };
}

console.log(`${TRIPS} round trips of ${SIZE} bytes, CPU µs per round trip (parent / child):`);
for (let round = 1; round <= ROUNDS; round++) {
  const pipes = await roundTrips(false);
  const socket = await roundTrips(true);
  const show = (c: { parentUs: number; childUs: number }) =>
    `${c.parentUs.toFixed(1)} / ${c.childUs.toFixed(1)}`;
  console.log(`  round ${round}: standard streams ${show(pipes)}; socket ${show(socket)}`);
}
