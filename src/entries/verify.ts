import { runVerifyAction } from '../actions/verify.js';
import { exitSoonIfCancelled } from '../shared/signals.js';

await runVerifyAction();
exitSoonIfCancelled();
