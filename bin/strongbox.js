#!/usr/bin/env node
// The published CLI runs the bundled build, so it works without a TypeScript toolchain.
import '../dist/cli.js';
