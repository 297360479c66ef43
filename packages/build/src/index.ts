export { appendLayer } from './append-layer.ts';
export type { BuildEvent, BuildEventHandler } from './build-event.ts';
export { buildFromDir } from './build-from-dir.ts';
export { type BuildOptions, buildImage, buildLayer, type LayerInput } from './build-image.ts';
export { BuildError, type BuildErrorCode, type BuildErrorDetails } from './errors.ts';
