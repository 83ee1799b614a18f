import { main } from '../cli/main.js';
import { exitSoonIfCancelled } from '../shared/signals.js';

process.exitCode = await main(process.argv.slice(2));
exitSoonIfCancelled();
