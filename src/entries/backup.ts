import { runBackupAction } from '../actions/backup.js';
import { exitSoonIfCancelled } from '../shared/signals.js';

await runBackupAction();
exitSoonIfCancelled();
