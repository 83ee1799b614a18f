import { runRestoreAction } from '../actions/restore.js';

await runRestoreAction();
