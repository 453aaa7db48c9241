// The server's own name (banner, Received:, `for local`): SMTPD_MAILNAME when set, else
// the first line of /etc/mail/mailname or /etc/mailname, else the machine's host name.

/** The environment variable that names the server instead of the mailname files. */
export const MAILNAME_VARIABLE = "SMTPD_MAILNAME";

/** Finds the server name as smtpd(8) does (smtpd.conf(5) has no statement for it). */
export async function findServerName(): Promise<string> {
  let configured: string | undefined;
  try {
    configured = Deno.env.get(MAILNAME_VARIABLE)?.trim();
  } catch {
    // Without --allow-env for it, the mailname files decide.
  }
  if (configured) return configured;
  for (const path of ["/etc/mail/mailname", "/etc/mailname"]) {
    try {
      const first = (await Deno.readTextFile(path)).split("\n")[0]?.trim();
      if (first) return first;
    } catch {
      // Not there: try the next source.
    }
  }
  try {
    return Deno.hostname();
  } catch {
    return "localhost";
  }
}

/** The machine's own interface addresses (what `from local` means, besides the socket). */
export function localAddresses(): Set<string> {
  const addresses = new Set<string>(["127.0.0.1", "::1"]);
  try {
    for (const iface of Deno.networkInterfaces()) addresses.add(iface.address);
  } catch {
    // Without --allow-sys the loopback addresses still count as local.
  }
  return addresses;
}

/**
 * What `for local` accepts besides `localhost` and the server name (OpenSMTPD's
 * `<localnames>`, config.c): each interface address bare and as an address literal,
 * `127.0.0.1` and `[127.0.0.1]`, and for IPv6 `[::1]` and `[IPv6:::1]` (RFC 5321 §4.1.3).
 */
export function localAddressNames(addresses: Iterable<string> = localAddresses()): string[] {
  const names: string[] = [];
  for (const address of addresses) {
    if (address.includes(":")) names.push(`[${address}]`, `[IPv6:${address}]`);
    else names.push(address, `[${address}]`);
  }
  return names;
}
