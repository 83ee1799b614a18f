/**
 * What each source adapter gives the one contract suite (test/integration/source-contract.itg.ts),
 * which runs every adapter through the core the same way, as restic runs one suite over every
 * backend. Each fixture lives in test/helpers/contract-fixtures/<kind>.ts, against the real engine.
 */
export interface ContractFixture {
  kind: string;
  /** Creates a fresh source holding some data; `location` is what `--<kind>` would be given. */
  makeSource(): Promise<{ location: string; cleanup(): Promise<void> }>;
  /** A fresh target that does not exist yet or is empty; `target` is what `--<kind>-target` would be given. */
  makeTarget(): Promise<{ target: string; cleanup(): Promise<void> }>;
  /** Puts other data into a target (so it is not empty and differs from any source). */
  fill(target: string): Promise<void>;
  /** The content, engine-checked (checksums of ordered rows, file hashes): equal for equal data. */
  fingerprint(location: string): Promise<string>;
  /** A source whose dump fails (a database that does not exist, a path that vanishes). */
  failingSource(): Promise<{ location: string; cleanup(): Promise<void> }>;
  /** The name `rollback --confirm` must repeat for this target. */
  confirmName(target: string): string;
}
