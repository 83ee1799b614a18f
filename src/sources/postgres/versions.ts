import { StrongboxError } from '../../shared/errors.js';

/** `15.4`, `9.6.24`, `17beta1` → the leading version; '' if none. */
export function parseVersion(text: string): string {
  return /\d+(?:\.\d+)*(?:[a-z]+\d*)?/i.exec(text)?.[0] ?? '';
}

/** Major version as a comparable number (9.6 → 9.6, 15.4 → 15). */
export function majorVersion(version: string): number {
  const [a = NaN, b = 0] = version.split('.').map((p) => parseInt(p, 10));
  return a < 10 ? a + b / 10 : a;
}

export function versionMismatchError(serverVersion: string, clientVersion: string, where: string): StrongboxError {
  const major = majorVersion(serverVersion);
  const need = major < 10 ? major.toFixed(1) : String(major);
  return new StrongboxError(
    `pg_dump ${clientVersion} is older than the PostgreSQL ${serverVersion} server of ${where} and cannot dump it (server version mismatch): install pg_dump ${need} or newer`,
    { hint: `install the PostgreSQL ${need} client tools (e.g. postgresql-client-${need}) and put them first on PATH` },
  );
}
