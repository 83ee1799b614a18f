// A backup in its own process, so a test can SIGKILL it: copies argv[2] into the spool, says so, and then waits without reading it.
import { sqliteAdapter } from '../../src/sources/sqlite/index.js';
import { silentReporter } from '../../src/shared/reporter.js';

const dump = await sqliteAdapter.dump({ kind: 'sqlite', location: process.argv[2]! }, { reporter: silentReporter, leaveOut: [] });
dump.stream.pause();
process.stdout.write('spooled\n');
setInterval(() => {}, 1000);
