// Real mail servers for outbound tests, each run from a scratch directory on 127.0.0.1
// and stopped by its pid: Postfix (extracted by .ci/install_peers.sh under /opt/postfix)
// and Dovecot (LMTP, IMAP, and the SASL service Postfix asks about AUTH).

import { freePort, waitListening } from "./_helpers.ts";

const PF_ROOT = Deno.env.get("PF_ROOT") ?? "/opt/postfix";
const PF_LIB = `${PF_ROOT}/usr/lib/postfix`;
const DOVECOT = "/usr/sbin/dovecot";
// The uid mail is stored as: virtual(8) refuses uids under 100, and nobody exists everywhere.
const MAIL_UID = 65534;

/** Why the peers cannot run here, or undefined when they can. */
export function peersMissing(): string | undefined {
  if (Deno.uid() !== 0) return "Postfix and Dovecot run as root to drop to their own users";
  for (const path of [`${PF_LIB}/sbin/master`, DOVECOT, "/usr/lib/dovecot/lmtp"]) {
    try {
      Deno.statSync(path);
    } catch {
      return `${path} is missing (.ci/install_peers.sh installs it)`;
    }
  }
  return undefined;
}

/** A running server; `stop()` ends it by its pid. */
export interface Peer {
  readonly dir: string;
  readonly ports: Readonly<Record<string, number>>;
  /** The server's own log so far (for failure messages). */
  log(): Promise<string>;
  stop(): Promise<void>;
}

async function scratch(prefix: string): Promise<string> {
  const dir = await Deno.makeTempDir({ dir: "/tmp", prefix });
  await Deno.chmod(dir, 0o755);
  return dir;
}

async function readOr(path: string): Promise<string> {
  return await Deno.readTextFile(path).catch(() => "");
}

/**
 * Dovecot with an LMTP and an IMAP listener and its auth service on TCP (for Postfix's
 * SASL), one user `bob` whose password is `password`, mail in `<dir>/mail/bob`.
 */
export async function startDovecot(password: string): Promise<Peer> {
  const dir = await scratch("dv-");
  const ports = { lmtp: freePort(), imap: freePort(), auth: freePort() };
  await Deno.mkdir(`${dir}/mail`);
  await Deno.chown(`${dir}/mail`, MAIL_UID, MAIL_UID);
  await Deno.writeTextFile(`${dir}/users`, `bob:{PLAIN}${password}\n`);
  await Deno.writeTextFile(
    `${dir}/dovecot.conf`,
    `base_dir = ${dir}/run
state_dir = ${dir}/state
log_path = ${dir}/dovecot.log
protocols = lmtp imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
mail_location = maildir:${dir}/mail/%n
first_valid_uid = 1
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%n ${dir}/users
}
userdb {
  driver = static
  args = uid=${MAIL_UID} gid=${MAIL_UID} home=${dir}/mail/%n
}
service lmtp {
  inet_listener lmtp {
    address = 127.0.0.1
    port = ${ports.lmtp}
  }
}
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = ${ports.imap}
  }
  inet_listener imaps {
    port = 0
  }
}
service auth {
  inet_listener {
    address = 127.0.0.1
    port = ${ports.auth}
  }
}
`,
  );
  const child = new Deno.Command(DOVECOT, {
    args: ["-F", "-c", `${dir}/dovecot.conf`],
    stdout: "null",
    stderr: "null",
  }).spawn();
  const peer = peerOf(dir, ports, child, `${dir}/dovecot.log`);
  try {
    for (const port of Object.values(ports)) await waitListening(port);
  } catch (error) {
    await peer.stop();
    throw new Error(`dovecot did not start: ${error}\n${await peer.log()}`);
  }
  return peer;
}

/** What one Postfix smtpd listener does, beyond TLS offered with `cert`/`key`. */
export interface PostfixListener {
  /** smtps: TLS from the first byte. */
  readonly wrapperMode?: boolean;
  /** AUTH through Dovecot's auth service on this port; RCPT refused without it. */
  readonly saslPort?: number;
  /** TLS required and a client certificate from this CA (PEM) required. */
  readonly clientCa?: string;
  /** Further `-o name=value` settings of this smtpd. */
  readonly options?: readonly string[];
  /** A certificate of its own instead of the server's. */
  readonly cert?: string;
  readonly key?: string;
}

/**
 * Postfix accepting mail for each of `domains` into the Maildir `<dir>/mail/<domain>/`,
 * with one smtpd per entry of `listeners`, each on its own port, all offering STARTTLS
 * (or smtps) with the given certificate. Received: headers record TLS, the client
 * certificate and authentication.
 */
export async function startPostfix(
  tls: { readonly cert: string; readonly key: string },
  domains: readonly string[],
  listeners: Readonly<Record<string, PostfixListener>>,
): Promise<Peer> {
  const dir = await scratch("pf-");
  for (const sub of ["conf", "queue", "data", "mail"]) await Deno.mkdir(`${dir}/${sub}`);
  await Deno.chown(`${dir}/mail`, MAIL_UID, MAIL_UID);
  const ids = await new Deno.Command("id", { args: ["-u", "postfix"] }).output();
  const uid = Number(new TextDecoder().decode(ids.stdout));
  await Deno.chown(`${dir}/data`, uid, null);
  await Deno.writeTextFile(`${dir}/conf/cert.pem`, tls.cert);
  await Deno.writeTextFile(`${dir}/conf/key.pem`, tls.key);
  await Deno.chmod(`${dir}/conf/key.pem`, 0o600);
  await Deno.writeTextFile(`${dir}/conf/vmailbox`, domains.map((d) => `@${d} ${d}/\n`).join(""));
  await Deno.writeTextFile(`${dir}/conf/main.cf`, mainCf(dir, domains));
  const ports: Record<string, number> = {};
  const services: string[] = [];
  for (const [name, listener] of Object.entries(listeners)) {
    const port = freePort();
    ports[name] = port;
    const opts: string[] = [];
    if (listener.wrapperMode) opts.push("smtpd_tls_wrappermode=yes");
    opts.push(...(listener.options ?? []));
    if (listener.cert && listener.key) {
      await Deno.writeTextFile(`${dir}/conf/${name}-cert.pem`, listener.cert);
      await Deno.writeTextFile(`${dir}/conf/${name}-key.pem`, listener.key);
      await Deno.chmod(`${dir}/conf/${name}-key.pem`, 0o600);
      opts.push(
        `smtpd_tls_cert_file=${dir}/conf/${name}-cert.pem`,
        `smtpd_tls_key_file=${dir}/conf/${name}-key.pem`,
      );
    }
    if (listener.saslPort) {
      opts.push(
        "smtpd_sasl_auth_enable=yes",
        "smtpd_sasl_type=dovecot",
        `smtpd_sasl_path=inet:127.0.0.1:${listener.saslPort}`,
        "smtpd_sasl_authenticated_header=yes",
        "smtpd_recipient_restrictions=permit_sasl_authenticated,reject",
      );
    }
    if (listener.clientCa) {
      await Deno.writeTextFile(`${dir}/conf/${name}-ca.pem`, listener.clientCa);
      opts.push(
        "smtpd_tls_security_level=encrypt",
        "smtpd_tls_req_ccert=yes",
        `smtpd_tls_CAfile=${dir}/conf/${name}-ca.pem`,
      );
    }
    services.push(
      `127.0.0.1:${port} inet n - n - - smtpd${opts.map((o) => ` -o ${o}`).join("")}`,
    );
  }
  await Deno.writeTextFile(`${dir}/conf/master.cf`, [...services, ...MASTER_CF].join("\n") + "\n");
  const env = { LD_LIBRARY_PATH: PF_LIB };
  // `postfix check` makes the queue directories with the owners Postfix wants.
  const check = await new Deno.Command(`${PF_ROOT}/usr/sbin/postfix`, {
    args: ["-c", `${dir}/conf`, "check"],
    env,
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!check.success) {
    throw new Error(`postfix check failed: ${new TextDecoder().decode(check.stderr)}`);
  }
  const child = new Deno.Command(`${PF_LIB}/sbin/master`, {
    args: ["-c", `${dir}/conf`, "-d"],
    env,
    stdout: "null",
    stderr: "null",
  }).spawn();
  const peer = peerOf(dir, ports, child, `${dir}/maillog`);
  try {
    for (const port of Object.values(ports)) await waitListening(port);
  } catch (error) {
    await peer.stop();
    throw new Error(`postfix did not start: ${error}\n${await peer.log()}`);
  }
  return peer;
}

function peerOf(
  dir: string,
  ports: Readonly<Record<string, number>>,
  child: Deno.ChildProcess,
  logPath: string,
): Peer {
  let stopped: Promise<void> | undefined;
  return {
    dir,
    ports,
    log: () => readOr(logPath),
    stop() {
      stopped ??= (async () => {
        try {
          child.kill("SIGTERM");
        } catch {
          // Already gone.
        }
        await child.status;
        await Deno.remove(dir, { recursive: true }).catch(() => {});
      })();
      return stopped;
    },
  };
}

function mainCf(dir: string, domains: readonly string[]): string {
  return `compatibility_level = 3.6
queue_directory = ${dir}/queue
data_directory = ${dir}/data
daemon_directory = ${PF_LIB}/sbin
command_directory = ${PF_ROOT}/usr/sbin
shlib_directory = ${PF_LIB}
meta_directory = ${PF_ROOT}/etc/postfix
mail_owner = postfix
setgid_group = postdrop
import_environment = MAIL_CONFIG MAIL_DEBUG MAIL_LOGTAG TZ LANG=C LD_LIBRARY_PATH=${PF_LIB}
maillog_file = ${dir}/maillog
maillog_file_prefixes = ${dir}
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
myhostname = mx.relay.test
mydestination =
local_recipient_maps =
alias_maps =
alias_database =
relay_domains =
mynetworks = 127.0.0.0/8
smtpd_relay_restrictions = reject_unauth_destination
biff = no
virtual_mailbox_domains = ${domains.join(" ")}
virtual_mailbox_base = ${dir}/mail
virtual_mailbox_maps = texthash:${dir}/conf/vmailbox
virtual_uid_maps = static:${MAIL_UID}
virtual_gid_maps = static:${MAIL_UID}
virtual_minimum_uid = 100
smtpd_tls_cert_file = ${dir}/conf/cert.pem
smtpd_tls_key_file = ${dir}/conf/key.pem
smtpd_tls_security_level = may
smtpd_tls_received_header = yes
smtpd_tls_ask_ccert = yes
smtpd_tls_loglevel = 1
`;
}

// The services a delivering Postfix needs, without chroot (nothing is copied into one).
const MASTER_CF = [
  "pickup    unix  n       -       n       60      1       pickup",
  "cleanup   unix  n       -       n       -       0       cleanup",
  "qmgr      unix  n       -       n       300     1       qmgr",
  "tlsmgr    unix  -       -       n       1000?   1       tlsmgr",
  "rewrite   unix  -       -       n       -       -       trivial-rewrite",
  "bounce    unix  -       -       n       -       0       bounce",
  "defer     unix  -       -       n       -       0       bounce",
  "trace     unix  -       -       n       -       0       bounce",
  "verify    unix  -       -       n       -       1       verify",
  "proxymap  unix  -       -       n       -       -       proxymap",
  "error     unix  -       -       n       -       -       error",
  "retry     unix  -       -       n       -       -       error",
  "discard   unix  -       -       n       -       -       discard",
  "virtual   unix  -       n       n       -       -       virtual",
  "anvil     unix  -       -       n       -       1       anvil",
  "scache    unix  -       -       n       -       1       scache",
  "postlog   unix-dgram n  -       n       -       1       postlogd",
];

/** The messages IMAP shows in `user`'s INBOX, fetched whole with Python's imaplib. */
export async function imapFetchAll(
  port: number,
  user: string,
  password: string,
): Promise<string[]> {
  const script = `
import imaplib, json, sys
m = imaplib.IMAP4("127.0.0.1", ${port})
m.login(sys.argv[1], sys.argv[2])
m.select("INBOX", readonly=True)
_, ids = m.search(None, "ALL")
out = []
for i in ids[0].split():
    _, data = m.fetch(i, "(RFC822)")
    out.append(data[0][1].decode("utf-8", "replace"))
m.logout()
print(json.dumps(out))
`;
  const result = await new Deno.Command("python3", {
    args: ["-c", script, user, password],
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!result.success) throw new Error(new TextDecoder().decode(result.stderr));
  return JSON.parse(new TextDecoder().decode(result.stdout));
}

/** A self-signed certificate for `name` (no CA anyone trusts), made with openssl. */
export async function selfSignedCertificate(name: string): Promise<{ cert: string; key: string }> {
  const dir = await Deno.makeTempDir({ prefix: "selfsigned-" });
  try {
    const made = await new Deno.Command("openssl", {
      args: [
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
        "-keyout",
        `${dir}/key.pem`,
        "-out",
        `${dir}/cert.pem`,
        "-days",
        "2",
        "-subj",
        `/CN=${name}`,
        "-addext",
        `subjectAltName=DNS:${name}`,
      ],
      stdout: "null",
      stderr: "piped",
    }).output();
    if (!made.success) throw new Error(new TextDecoder().decode(made.stderr));
    return {
      cert: await Deno.readTextFile(`${dir}/cert.pem`),
      key: await Deno.readTextFile(`${dir}/key.pem`),
    };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}
