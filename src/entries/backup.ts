import { runBackupAction } from '../actions/backup.js';

await runBackupAction();
