import type { ImageNode } from '@stevedore/image';

/**
 * The same image, index or artifact under another tag (the tag writers use when the
 * caller names none). Nothing is re-read and no digest changes.
 */
export function retag<T extends ImageNode>(node: T, tag: string): T {
  if (typeof tag !== 'string' || tag === '') throw new TypeError('retag: the tag must be a non-empty string');
  return { ...node, tag };
}
