// The transfer verbs' specs (their code loads on demand from the files beside this one).
import type { VerbSpec } from '../verb.ts';

export const TRANSFER_VERBS: readonly VerbSpec[] = [];
