// Splitting a mail address into its local part and domain, and a local part without its
// `+tag`: the one place the rest of the code splits on `@`.

/**
 * Splits `local@domain` at its last `@` (a quoted local part may hold one, RFC 5321
 * §4.1.2): `local` is what comes before it, `domain` what follows ("" when the address has
 * no `@`, so an address without one is all local part). Case is kept.
 *
 * @example
 * ```ts
 * import { splitAddress } from "./address.ts";
 * splitAddress("Alice@Example.org"); // { local: "Alice", domain: "Example.org" }
 * splitAddress("postmaster"); // { local: "postmaster", domain: "" }
 * ```
 */
export function splitAddress(address: string): { local: string; domain: string } {
  const at = address.lastIndexOf("@");
  if (at === -1) return { local: address, domain: "" };
  return { local: address.slice(0, at), domain: address.slice(at + 1) };
}

/**
 * A local part without its `+tag` (smtpd.conf(5) and table(5): `user+tag` is `user`'s),
 * or without what follows another delimiter (`smtp sub-addr-delim`); a delimiter in first
 * place is not a tag separator, so `+user` stays as it is.
 *
 * @example
 * ```ts
 * import { untaggedLocal } from "./address.ts";
 * untaggedLocal("alice+lists"); // "alice"
 * untaggedLocal("+alice"); // "+alice"
 * untaggedLocal("alice-lists", "-"); // "alice"
 * ```
 */
export function untaggedLocal(local: string, delimiter = "+"): string {
  const cut = local.indexOf(delimiter);
  return cut > 0 ? local.slice(0, cut) : local;
}

/**
 * The keys a `virtual` table is asked for a recipient, in OpenSMTPD's order
 * (aliases_virtual_get(), aliases.c): `user+tag@domain`, `user@domain`, `user+tag`,
 * `user`, `@domain`, then the global catch-all `@`. Lower-cased; the tag keys only for a
 * tagged address.
 *
 * @example
 * ```ts
 * import { virtualKeys } from "./address.ts";
 * virtualKeys("Bob+news@Example.org", "+");
 * // ["bob+news@example.org", "bob@example.org", "bob+news", "bob", "@example.org", "@"]
 * ```
 */
export function virtualKeys(address: string, delimiter: string): string[] {
  const { local, domain } = splitAddress(address.toLowerCase());
  const cut = local.indexOf(delimiter);
  const user = cut > 0 ? local.slice(0, cut) : local;
  const tagged = user !== local;
  const keys: string[] = [];
  if (tagged) keys.push(`${local}@${domain}`);
  keys.push(`${user}@${domain}`);
  if (tagged) keys.push(local);
  keys.push(user);
  if (domain !== "") keys.push(`@${domain}`, "@");
  return keys;
}
