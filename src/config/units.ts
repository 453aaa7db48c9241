// Numbers with units in smtpd.conf: durations (`30s`, `10m`, `4h`, `4d`) and sizes
// (`35M`, `512K`, plain bytes), as OpenSMTPD's parser reads them.

/** Seconds for a duration, or undefined when malformed. A bare number means seconds. */
export function parseDuration(text: string): number | undefined {
  const m = /^(\d+)([smhd]?)$/.exec(text);
  if (!m) return undefined;
  const factor = { "": 1, s: 1, m: 60, h: 3600, d: 86400 }[m[2] as "" | "s" | "m" | "h" | "d"];
  return exact(Number(m[1]) * factor);
}

/** Bytes for a size (K, M, G are powers of 1024, as scan_scaled(3)), or undefined. */
export function parseSize(text: string): number | undefined {
  const m = /^(\d+)([kmgt]?)b?$/i.exec(text);
  if (!m) return undefined;
  const exponent = ["", "k", "m", "g", "t"].indexOf(m[2]!.toLowerCase());
  return exact(Number(m[1]) * 1024 ** exponent);
}

/** A whole number of digits that a double holds exactly, or undefined. */
export function parseWholeNumber(text: string): number | undefined {
  return /^\d+$/.test(text) ? exact(Number(text)) : undefined;
}

// Numbers past 2^53 lose digits (and past 1e308 become Infinity): refused, so what is
// checked is what runs and what prints back.
function exact(n: number): number | undefined {
  return Number.isSafeInteger(n) ? n : undefined;
}

/** Prints seconds back as the largest exact unit. */
export function formatDuration(seconds: number): string {
  for (const [unit, size] of [["d", 86400], ["h", 3600], ["m", 60]] as const) {
    if (seconds !== 0 && seconds % size === 0) return `${seconds / size}${unit}`;
  }
  return `${seconds}s`;
}
