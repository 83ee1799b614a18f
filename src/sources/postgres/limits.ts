/** How long pg_dump or a restore waits for a table lock another session holds (`--db-lock-timeout`). */
export const DEFAULT_DB_LOCK_TIMEOUT_MS = 5 * 60_000;
/** Bytes held back from pg_restore until the input has ended cleanly (see TailHolder). */
export const HOLD_BACK = 64 * 1024;
