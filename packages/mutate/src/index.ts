export { MutateError, type MutateErrorCode, type MutateErrorDetails } from './errors.ts';
export { type ExportFilesystemOptions, exportFilesystem } from './export-filesystem.ts';
export { type FlattenOptions, flatten } from './flatten.ts';
export { type MutateAnnotationsOptions, mutateAnnotations } from './mutate-annotations.ts';
export { type ConfigChanges, type MutateConfigOptions, mutateConfig } from './mutate-config.ts';
export type { PlatformOptions } from './per-platform.ts';
export { type RebaseOptions, rebase } from './rebase.ts';
export { retag } from './retag.ts';
