// What a local program asks when it submits a message (sendmail's flags), as one plain
// object the socket request and the offline file both carry; and its strict check, so a
// field that is misspelt or of the wrong type is an error, never silently dropped.

/** sendmail's flags that shape the message, and the DSN options it passes. */
export interface LocalSubmission {
  /** Recipients from the command line. */
  readonly recipients: readonly string[];
  /** -f / -r; "" or "<>" for the null sender; absent for the submitter's own address. */
  readonly sender?: string;
  /** -F: the full name in an added From: header. */
  readonly fullName?: string;
  /** -t: recipients also from To:, Cc: and Bcc:. */
  readonly extractRecipients: boolean;
  /** -i / -oi: a line with a single dot does not end the message. */
  readonly ignoreDots: boolean;
  /** -N: DSN NOTIFY. */
  readonly notify?: readonly string[];
  /** -R: DSN RET. */
  readonly ret?: "FULL" | "HDRS";
  /** -V: DSN ENVID. */
  readonly envid?: string;
}

const FIELDS = new Set([
  "recipients",
  "sender",
  "fullName",
  "extractRecipients",
  "ignoreDots",
  "notify",
  "ret",
  "envid",
]);

/** Checks a decoded JSON value as a {@link LocalSubmission}; throws with what is wrong. */
export function parseSubmission(value: unknown): LocalSubmission {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new Error("the submission is not an object");
  }
  const record = value as Record<string, unknown>;
  for (const key of Object.keys(record)) {
    if (!FIELDS.has(key)) throw new Error(`unknown submission field "${key}"`);
  }
  const strings = (key: string): string[] | undefined => {
    const v = record[key];
    if (v === undefined) return undefined;
    if (!Array.isArray(v) || !v.every((s) => typeof s === "string")) {
      throw new Error(`"${key}" must be a list of strings`);
    }
    return v as string[];
  };
  const text = (key: string): string | undefined => {
    const v = record[key];
    if (v !== undefined && typeof v !== "string") throw new Error(`"${key}" must be a string`);
    return v;
  };
  const flag = (key: string): boolean => {
    const v = record[key];
    if (typeof v !== "boolean") throw new Error(`"${key}" must be true or false`);
    return v;
  };
  const recipients = strings("recipients");
  if (recipients === undefined) throw new Error(`"recipients" is missing`);
  const ret = text("ret");
  if (ret !== undefined && ret !== "FULL" && ret !== "HDRS") {
    throw new Error(`"ret" must be FULL or HDRS`);
  }
  const sender = text("sender");
  const fullName = text("fullName");
  const notify = strings("notify");
  const envid = text("envid");
  return {
    recipients,
    extractRecipients: flag("extractRecipients"),
    ignoreDots: flag("ignoreDots"),
    ...(sender === undefined ? {} : { sender }),
    ...(fullName === undefined ? {} : { fullName }),
    ...(notify === undefined ? {} : { notify }),
    ...(ret === undefined ? {} : { ret }),
    ...(envid === undefined ? {} : { envid }),
  };
}
