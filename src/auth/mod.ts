// Public face of the authentication box: password hashes and where accounts come from.
export { checkPassword, hashPassword } from "./passwords.ts";
export type { PasswordCheck } from "./passwords.ts";
export { systemAuthenticator, tableAuthenticator } from "./accounts.ts";
export type { Authenticator } from "./accounts.ts";
