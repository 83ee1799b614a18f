import { runRollbackAction } from '../actions/rollback.js';
import { exitSoonIfCancelled } from '../shared/signals.js';

await runRollbackAction();
exitSoonIfCancelled();
