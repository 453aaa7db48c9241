/**
 * Authentication: checking a password against a crypt(3) hash (bcrypt, SHA-crypt) and
 * where the accounts come from, a credentials table (`auth <table>`) or the system's own.
 *
 * @module
 */
export { checkPassword, hashPassword } from "./passwords.ts";
export type { PasswordCheck } from "./passwords.ts";
export { systemAuthenticator, tableAuthenticator } from "./accounts.ts";
export type { Authenticator } from "./accounts.ts";
