/**
 * A restore in a process of its own, for the tests that SIGKILL it midway:
 * `node --import tsx test/helpers/mysql-restore-child.ts DUMP.sql TARGET_URL [force] [LOCK_TIMEOUT_MS]`.
 * Prints "started" once the restore has begun reading.
 */
import { createReadStream } from 'node:fs';
import { Transform } from 'node:stream';
import { mysqlAdapter } from '../../src/sources/mysql/index.js';
import { silentReporter } from '../../src/shared/reporter.js';

const [file, target, force, lockTimeout] = process.argv.slice(2);
let started = false;
const input = createReadStream(file!, { highWaterMark: 64 * 1024 }).pipe(
  new Transform({
    transform(chunk, _enc, cb) {
      if (!started) process.stdout.write('started\n');
      started = true;
      cb(null, chunk);
    },
  }),
);
await mysqlAdapter.restore(input, target!, { name: 'db', kind: 'mysql', source: {} }, { reporter: silentReporter, force: force === 'force', ...(lockTimeout ? { lockTimeoutMs: Number(lockTimeout) } : {}) });
process.stdout.write('done\n');
