#!/usr/bin/env node
// Usage: inspect-manifest FILE   (or pipe a manifest on standard input)
import { readFile } from 'node:fs/promises';
import { text } from 'node:stream/consumers';
import { StevedoreError } from '@stevedore/errors';
import { inspectManifest } from './inspect-manifest.ts';

const path = process.argv[2];
const bytes = path === undefined ? new TextEncoder().encode(await text(process.stdin)) : await readFile(path);
try {
  console.log(await inspectManifest(bytes));
} catch (error) {
  if (!StevedoreError.is(error)) throw error;
  console.error(`${error.code}: ${error.message}`);
  process.exitCode = 1;
}
