import { runRestoreAction } from '../actions/restore.js';
import { exitSoonIfCancelled } from '../shared/signals.js';

await runRestoreAction();
exitSoonIfCancelled();
