// A restore in its own process, so a test can SIGKILL it midway: restores stdin into argv[2].
import { sqliteAdapter } from '../../src/sources/sqlite/index.js';
import { silentReporter } from '../../src/shared/reporter.js';

const target = process.argv[2]!;
await sqliteAdapter.restore(process.stdin, target, { name: 'sqlite-app', kind: 'sqlite', source: {} }, { reporter: silentReporter, force: true });
process.stdout.write('restored\n');
