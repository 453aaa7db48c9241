// Password hashes as crypt(3) writes them: bcrypt ($2a$, $2b$, $2y$) and SHA-crypt ($5$,
// $6$), checked with maintained libraries. Any other scheme fails closed, with a reason.

import bcrypt from "bcryptjs";
import { encrypt as shaCrypt, verify as shaVerify } from "unixcrypt";
import { errorMessage } from "../mail/mod.ts";

/** The outcome of checking a password. */
export type PasswordCheck =
  | { readonly ok: true }
  | {
    readonly ok: false;
    readonly reason: string;
    /** The credentials could not be read now (a table server down): try again later. */
    readonly temporary?: true;
  };

const BCRYPT_REGEXP = /^\$2[aby]\$\d\d\$/;
const SHA_CRYPT_REGEXP = /^\$[56]\$/;

/** Checks a password against a crypt(3) hash. */
export function checkPassword(hash: string, password: string): PasswordCheck {
  try {
    if (BCRYPT_REGEXP.test(hash)) {
      return bcrypt.compareSync(password, hash)
        ? { ok: true }
        : { ok: false, reason: "wrong password" };
    }
    if (SHA_CRYPT_REGEXP.test(hash)) {
      return shaVerify(password, hash) ? { ok: true } : { ok: false, reason: "wrong password" };
    }
  } catch (error) {
    return {
      ok: false,
      reason: `unreadable hash: ${errorMessage(error)}`,
    };
  }
  const scheme = /^\$([^$]+)\$/.exec(hash)?.[1];
  return {
    ok: false,
    reason: scheme
      ? `hash scheme "$${scheme}$" is not supported (use bcrypt or SHA-512 crypt)`
      : "the account has no usable password hash",
  };
}

/** A SHA-512 crypt hash with a random salt, as `smtpctl encrypt` prints on Linux. */
export function hashPassword(password: string): string {
  const alphabet = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  const salt = [...bytes].map((b) => alphabet[b % 64]).join("");
  return shaCrypt(password, `$6$${salt}`);
}
