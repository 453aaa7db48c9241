// The servers bench/relay_throughput.ts compares, each started in a fresh directory on
// 127.0.0.1:IN_PORT with one relay action per destination, held and released on command:
// this daemon, Postfix 3.7 (extracted under /opt/postfix) and Debian's OpenSMTPD 6.8.

export const PF = "/opt/postfix";
export const PF_ENV = { LD_LIBRARY_PATH: `${PF}/usr/lib/postfix` };
/** The checkout whose daemon is measured (SMTPD_ROOT, else this one). */
const ROOT = Deno.env.get("SMTPD_ROOT") ?? new URL("..", import.meta.url).pathname;
/** Where every server listens, and where the sink does. */
export const IN_PORT = 10126;
export const SINK_PORT = 10125;
const decoder = new TextDecoder();

/** Runs a command; throws with its output when it fails. */
export async function run(cmd: string, args: string[], env: Record<string, string> = {}) {
  const out = await new Deno.Command(cmd, { args, env, stdout: "piped", stderr: "piped" })
    .output();
  if (!out.success) {
    throw new Error(
      `${cmd} ${args.join(" ")}: ${decoder.decode(out.stderr)}${decoder.decode(out.stdout)}`,
    );
  }
  return decoder.decode(out.stdout);
}

/** Polls until `check` holds, or throws after `ms`. */
export async function waitFor(what: string, check: () => Promise<boolean> | boolean, ms = 600_000) {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** True when something accepts connections on 127.0.0.1:port. */
export async function listening(port: number): Promise<boolean> {
  try {
    (await Deno.connect({ hostname: "127.0.0.1", port })).close();
    return true;
  } catch {
    return false;
  }
}

/** One server under test. */
export interface Server {
  label: string;
  start(dir: string, destinations: number): Promise<void>;
  hold(): Promise<void>;
  release(): Promise<void>;
  stop(): Promise<void>;
}

function nexthop(k: number, destinations: number) {
  return destinations === 1 ? "127.0.0.1" : `127.0.0.${k + 1}`;
}

// ---- this project ----
function project(): Server {
  let child: Deno.ChildProcess | undefined;
  let conf = "";
  let queueDir = "";
  // smtpctl's own request on the daemon's socket, without starting a runtime per command
  // (a C smtpctl or postsuper costs milliseconds; `deno run cli.ts` costs a second).
  const ctl = async (command: string, what: string) => {
    const control = await import(`${ROOT}src/control/mod.ts`);
    const answer = await control.controlDaemon(control.offlineDirectory(queueDir), {
      command: `${command} ${what}`,
      params: [],
    });
    if (answer.exit !== 0) throw new Error(`${command} ${what}: ${answer.error}`);
  };
  return {
    label: "project",
    async start(dir, destinations) {
      conf = `${dir}/smtpd.conf`;
      queueDir = `${dir}/queue`;
      const lines = [`queue path "${dir}/queue"`, `listen on 127.0.0.1 port ${IN_PORT}`];
      for (let k = 0; k < destinations; k++) {
        lines.push(`action "d${k}" relay host smtp://${nexthop(k, destinations)}:${SINK_PORT}`);
        lines.push(`match from any for domain "d${k}.test" action "d${k}"`);
      }
      await Deno.writeTextFile(conf, lines.join("\n") + "\n");
      child = new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "-A",
          ...(Deno.env.get("BENCH_CPU_PROF")
            ? ["--cpu-prof", `--cpu-prof-dir=${Deno.env.get("BENCH_CPU_PROF")}`]
            : []),
          `${ROOT}cli.ts`,
          "-d",
          "-u",
          "root",
          "-f",
          conf,
        ],
        stdout: "null",
        stderr: Deno.env.get("BENCH_DAEMON_LOG") ? "inherit" : "null",
      }).spawn();
      await waitFor("the daemon", () => listening(IN_PORT), 60_000);
      // The control socket comes up beside the listeners.
      await waitFor("its control socket", async () => {
        try {
          await ctl("show", "status");
          return true;
        } catch {
          return false;
        }
      }, 60_000);
    },
    async hold() {
      await ctl("pause", "mta");
    },
    async release() {
      await ctl("resume", "mta");
    },
    async stop() {
      child?.kill("SIGTERM");
      await child?.status;
    },
  };
}

// ---- Postfix 3.7, extracted under /opt/postfix ----
function postfix(): Server {
  let confDir = "";
  let master: Deno.ChildProcess | undefined;
  const postfixCmd = (...args: string[]) =>
    run(`${PF}/usr/sbin/postfix`, ["-c", confDir, ...args], PF_ENV);
  return {
    label: "Postfix",
    async start(dir, destinations) {
      confDir = `${dir}/conf`;
      await Deno.mkdir(confDir, { recursive: true });
      await Deno.mkdir(`${dir}/data`, { recursive: true });
      await Deno.mkdir(`${dir}/queue`, { recursive: true });
      await run("chown", ["postfix:postfix", `${dir}/data`]);
      const transport = Array.from(
        { length: destinations },
        (_, k) => `d${k}.test smtp:[${nexthop(k, destinations)}]:${SINK_PORT}`,
      ).join("\n");
      await Deno.writeTextFile(`${confDir}/transport`, transport + "\n");
      await Deno.writeTextFile(
        `${confDir}/main.cf`,
        `compatibility_level = 3.6
queue_directory = ${dir}/queue
data_directory = ${dir}/data
daemon_directory = ${PF}/usr/lib/postfix/sbin
command_directory = ${PF}/usr/sbin
shlib_directory = ${PF}/usr/lib/postfix
meta_directory = ${PF}/etc/postfix
mail_owner = postfix
setgid_group = postdrop
import_environment = MAIL_CONFIG MAIL_DEBUG MAIL_LOGTAG TZ LANG=C LD_LIBRARY_PATH=${PF}/usr/lib/postfix
maillog_file = ${dir}/maillog
maillog_file_prefixes = ${dir}, /var, /dev/stdout
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
myhostname = mx.bench.host
mydestination =
local_recipient_maps =
alias_maps =
alias_database =
mynetworks = 127.0.0.0/8
smtpd_relay_restrictions = permit_mynetworks, reject
transport_maps = texthash:${confDir}/transport
smtp_dns_support_level = disabled
smtp_tls_security_level = none
smtpd_sender_restrictions = check_sender_access static:HOLD
biff = no
`,
      );
      // Chroot off everywhere, stock limits otherwise; smtp(8) for the relaying.
      await Deno.writeTextFile(
        `${confDir}/master.cf`,
        `127.0.0.1:${IN_PORT} inet n - n - - smtpd
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
proxywrite unix -       -       n       -       1       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
`,
      );
      await postfixCmd("check");
      master = new Deno.Command(`${PF}/usr/lib/postfix/sbin/master`, {
        args: ["-c", confDir, "-s"],
        env: PF_ENV,
        stdout: "null",
        stderr: "null",
      }).spawn();
      await waitFor("Postfix", () => listening(IN_PORT), 60_000);
    },
    async hold() {},
    async release() {
      // Every message sits in the hold queue (HOLD at MAIL FROM): release them all to the
      // deferred queue, and flush it.
      await run(`${PF}/usr/sbin/postsuper`, ["-c", confDir, "-H", "ALL"], PF_ENV);
      await run(`${PF}/usr/sbin/postqueue`, ["-c", confDir, "-f"], PF_ENV);
    },
    async stop() {
      master?.kill("SIGTERM");
      await master?.status;
      await waitFor("Postfix to stop", async () => !(await listening(IN_PORT)), 60_000);
    },
  };
}

// ---- OpenSMTPD 6.8 from Debian, in a mount namespace of its own (its spool and socket) ----
function opensmtpd(): Server {
  let child: Deno.ChildProcess | undefined;
  const ctl = (...args: string[]) =>
    run("nsenter", ["-t", String(child!.pid), "-m", "/usr/sbin/smtpctl", ...args]);
  return {
    label: "OpenSMTPD",
    async start(dir, destinations) {
      await Deno.mkdir(`${dir}/varspool/smtpd`, { recursive: true });
      await Deno.chmod(`${dir}/varspool/smtpd`, 0o711);
      await Deno.mkdir(`${dir}/run`, { recursive: true });
      const lines = [`listen on 127.0.0.1 port ${IN_PORT} hostname mx.bench.host`];
      for (let k = 0; k < destinations; k++) {
        lines.push(`action "d${k}" relay host smtp://${nexthop(k, destinations)}:${SINK_PORT}`);
        lines.push(`match from any for domain "d${k}.test" action "d${k}"`);
      }
      await Deno.writeTextFile(`${dir}/smtpd.conf`, lines.join("\n") + "\n");
      child = new Deno.Command("unshare", {
        args: [
          "--mount",
          "--propagation",
          "private",
          "sh",
          "-c",
          'mount --bind "$1" /var/spool && mount --bind "$2" /run && exec /usr/sbin/smtpd -d -f "$3"',
          "sh",
          `${dir}/varspool`,
          `${dir}/run`,
          `${dir}/smtpd.conf`,
        ],
        stdout: "null",
        stderr: "null",
      }).spawn();
      await waitFor("OpenSMTPD", () => listening(IN_PORT), 60_000);
      // The daemon is the exec'd sh: its mount namespace holds /run/smtpd.sock.
      await waitFor("its control socket", async () => {
        try {
          await ctl("show", "status");
          return true;
        } catch {
          return false;
        }
      }, 30_000);
    },
    async hold() {
      await ctl("pause", "mta");
    },
    async release() {
      await ctl("resume", "mta");
    },
    async stop() {
      child?.kill("SIGTERM");
      await child?.status;
    },
  };
}

/** The servers by the names `--servers` takes. */
export const MAKERS: Record<string, () => Server> = { project, postfix, opensmtpd };
