import { runVerifyAction } from '../actions/verify.js';

await runVerifyAction();
