// What the kernel charges for one mailbox file on this machine, with nothing of the daemon
// around it: a Maildir delivery's system calls (create in tmp/, write, fdatasync, close,
// rename into new/) made N times, as plain system calls (Python's os module) and through
// the runtime (sync and async file calls), each step alone and the whole delivery, with
// the CPU time (user and system) per file from /proc. Every MTA pays at least this for
// each message it delivers into a Maildir; set beside the daemon's CPU per message.
//
//   deno run -A bench/mailbox_file_cost.ts [--files 3000] [--parallel 10] [--size 1200]
//                                          [--rounds 3]
//
// Each step runs once per round, the rounds one after the other, so that a step is not
// measured only while the disk was busy with another; run it on a quiet machine.

import { parseArgs } from "node:util";

const { values } = parseArgs({
  options: {
    files: { type: "string", default: "3000" },
    parallel: { type: "string", default: "10" },
    size: { type: "string", default: "1200" },
    rounds: { type: "string", default: "3" },
  },
});
const FILES = Number(values.files);
const PARALLEL = Number(values.parallel);
const SIZE = Number(values.size);
const ROUNDS = Number(values.rounds);
const scratch = await Deno.makeTempDir({ prefix: "mailbox-file-cost-", dir: Deno.cwd() });

interface Cost {
  readonly userMs: number;
  readonly sysMs: number;
  readonly perSecond: number;
}

// utime and stime of this process, in ms (clock ticks of 10 ms, as Linux reports them).
function cpuMs(): { user: number; sys: number } {
  const fields = Deno.readTextFileSync("/proc/self/stat").split(") ")[1]!.split(" ");
  return { user: Number(fields[11]) * 10, sys: Number(fields[12]) * 10 };
}

async function measure(run: () => Promise<void>): Promise<Cost> {
  const before = cpuMs();
  const started = performance.now();
  await run();
  const seconds = (performance.now() - started) / 1000;
  const after = cpuMs();
  return {
    userMs: (after.user - before.user) / FILES,
    sysMs: (after.sys - before.sys) / FILES,
    perSecond: FILES / seconds,
  };
}

async function maildir(name: string): Promise<string> {
  const dir = `${scratch}/${name}`;
  for (const sub of ["tmp", "new", "cur"]) await Deno.mkdir(`${dir}/${sub}`, { recursive: true });
  return dir;
}

// The daemon's writers: PARALLEL deliveries at once, each awaiting its own calls.
async function runtimeDeliveries(blocking: boolean, round: number): Promise<Cost> {
  const dir = await maildir(`${blocking ? "runtime-sync" : "runtime-async"}-${round}`);
  const data = new Uint8Array(SIZE).fill(0x78);
  let next = 0;
  const one = async (n: number) => {
    const tmp = `${dir}/tmp/${n}`;
    if (blocking) {
      const file = Deno.openSync(tmp, { write: true, createNew: true, mode: 0o600 });
      file.writeSync(data);
      await file.syncData();
      file.close();
      Deno.renameSync(tmp, `${dir}/new/${n}`);
    } else {
      const file = await Deno.open(tmp, { write: true, createNew: true, mode: 0o600 });
      await file.write(data);
      await file.syncData();
      file.close();
      await Deno.rename(tmp, `${dir}/new/${n}`);
    }
  };
  return await measure(async () => {
    await Promise.all(Array.from({ length: PARALLEL }, async () => {
      while (next < FILES) await one(next++);
    }));
  });
}

// The same calls from Python, one process, one file after the other (no runtime, no
// threads): each step alone, then the whole delivery with and without its fdatasync.
const PYTHON = `
import os, sys, json
scratch, files, size, round = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
data = b"x" * size
def cost(name, step):
    d = os.path.join(scratch, "py-" + name + "-" + round)
    for sub in ("tmp", "new", "cur"): os.makedirs(os.path.join(d, sub))
    before = os.times()
    import time; started = time.monotonic()
    for n in range(files): step(d, n)
    seconds = time.monotonic() - started
    after = os.times()
    return {"step": name, "userMs": (after.user - before.user) * 1000 / files,
            "sysMs": (after.system - before.system) * 1000 / files, "perSecond": files / seconds}
def create(d, n):
    os.close(os.open(f"{d}/tmp/{n}", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
def delivery(sync):
    def step(d, n):
        fd = os.open(f"{d}/tmp/{n}", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        os.write(fd, data)
        if sync: os.fdatasync(fd)
        os.close(fd)
        os.rename(f"{d}/tmp/{n}", f"{d}/new/{n}")
    return step
print(json.dumps([cost("create", create), cost("delivery-nosync", delivery(False)),
                  cost("delivery", delivery(True))]))
`;

try {
  const rows: (Cost & { step: string; round: number })[] = [];
  for (let round = 1; round <= ROUNDS; round++) {
    const python = await new Deno.Command("python3", {
      args: ["-c", PYTHON, scratch, String(FILES), String(SIZE), String(round)],
      stdout: "piped",
    }).output();
    if (!python.success) throw new Error("python3 failed");
    const steps: (Cost & { step: string })[] = JSON.parse(new TextDecoder().decode(python.stdout));
    rows.push(...steps.map((step) => ({ ...step, step: `python: ${step.step}`, round })));
    rows.push({
      step: `runtime: delivery, ${PARALLEL} at once, async calls`,
      round,
      ...await runtimeDeliveries(false, round),
    });
    rows.push({
      step: `runtime: delivery, ${PARALLEL} at once, sync calls but fdatasync`,
      round,
      ...await runtimeDeliveries(true, round),
    });
  }
  const df = await new Deno.Command("df", { args: ["-T", scratch], stdout: "piped" }).output();
  const fs = new TextDecoder().decode(df.stdout).trim().split("\n").at(-1)!.split(/\s+/)[1];
  console.log(`${FILES} files of ${SIZE} bytes on ${fs} (${scratch}), ms of CPU per file:\n`);
  console.log("| step | round | user | system | files/s |");
  console.log("|---|---|---|---|---|");
  for (const row of rows.toSorted((a, b) => a.step.localeCompare(b.step) || a.round - b.round)) {
    const { step, round, userMs, sysMs, perSecond } = row;
    console.log(
      `| ${step} | ${round} | ${userMs.toFixed(3)} | ${sysMs.toFixed(3)} | ${
        perSecond.toFixed(0)
      } |`,
    );
  }
} finally {
  await Deno.remove(scratch, { recursive: true });
}
