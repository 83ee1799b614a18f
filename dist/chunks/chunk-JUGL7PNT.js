import { createRequire as __sbCreateRequire } from 'node:module'; const require = __sbCreateRequire(import.meta.url);
import {
  commaList,
  flag,
  list,
  optional,
  secret,
  storageInputs
} from "./chunk-NRF3XMNW.js";
import {
  loadConfigFile
} from "./chunk-XEBPFPTJ.js";

// src/actions/read-inputs.ts
function keyInputs() {
  const identity = secret("identity");
  const passphrase = secret("passphrase");
  return { identity, passphrase, passphraseSource: passphrase !== void 0 ? "input passphrase" : void 0, trustedKeys: list("trusted-keys") };
}
function targetInputs() {
  return { postgresTarget: optional("postgres-target"), mysqlTarget: optional("mysql-target"), sqliteTarget: optional("sqlite-target"), filesTarget: optional("files-target") };
}
function restoringInputs() {
  return {
    ...keyInputs(),
    ...targetInputs(),
    ...storageInputs(),
    config: optional("config"),
    from: optional("from"),
    backup: optional("backup"),
    lockWait: optional("lock-wait"),
    dbLockTimeout: optional("db-lock-timeout"),
    pgBin: optional("pg-bin")
  };
}
function getRestoreInputs() {
  return { ...restoringInputs(), bucketTarget: optional("bucket-target"), only: commaList("only"), paths: list("path"), dryRun: flag("dry-run"), before: optional("before"), force: flag("force") };
}
function getVerifyInputs() {
  return {
    ...keyInputs(),
    ...storageInputs(),
    config: optional("config"),
    // One location per line; several: the backup must be identical at every one.
    from: list("from"),
    backup: optional("backup"),
    deep: flag("deep"),
    maxAge: optional("max-age"),
    lockWait: optional("lock-wait")
  };
}
function getRollbackInputs() {
  const signingKey = secret("signing-key");
  return {
    ...restoringInputs(),
    before: optional("before"),
    recipients: commaList("recipient"),
    signingKey,
    signingKeySource: signingKey !== void 0 ? "input signing-key" : void 0,
    confirm: optional("confirm"),
    checkSql: list("check-sql"),
    checkFile: optional("check-file")
  };
}
function getDrillInputs() {
  return {
    postgresScratch: optional("drill-postgres"),
    mysqlScratch: optional("drill-mysql"),
    sqliteScratch: optional("drill-sqlite"),
    filesScratch: optional("drill-files"),
    checkSql: list("drill-check-sql"),
    maxAge: optional("drill-max-age")
  };
}
function configInput(inputs) {
  return inputs.config !== void 0 ? loadConfigFile(inputs.config) : Promise.resolve(void 0);
}

export {
  getRestoreInputs,
  getVerifyInputs,
  getRollbackInputs,
  getDrillInputs,
  configInput
};
