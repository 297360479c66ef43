// The build verbs' specs (their code loads on demand from the files beside this one).
import type { VerbSpec } from '../verb.ts';

export const BUILD_VERBS: readonly VerbSpec[] = [];
