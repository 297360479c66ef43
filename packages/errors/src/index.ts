export { excerpt, StevedoreError, type StevedoreErrorOptions } from './stevedore-error.ts';
