import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  isOpaqueWhiteout,
  isWhiteout,
  OPAQUE_WHITEOUT,
  WHITEOUT_PREFIX,
  whiteoutPath,
  whiteoutTarget,
} from './whiteout.ts';

describe('whiteouts (image-spec, layer.md)', () => {
  it('spells the markers as the spec does', () => {
    expect(WHITEOUT_PREFIX).toBe('.wh.');
    expect(OPAQUE_WHITEOUT).toBe('.wh..wh..opq');
  });

  it('whiteoutPath puts the prefix on the last component', () => {
    expect(whiteoutPath('a/b/c')).toBe('a/b/.wh.c');
    expect(whiteoutPath('c')).toBe('.wh.c');
    expect(whiteoutPath('./etc/passwd')).toBe('./etc/.wh.passwd');
    expect(whiteoutPath('a/dir/')).toBe('a/.wh.dir');
    expect(whiteoutPath('/abs')).toBe('/.wh.abs');
    expect(whiteoutPath('a/.hidden')).toBe('a/.wh..hidden');
  });

  it('whiteoutPath refuses paths that name nothing to delete', () => {
    for (const path of ['', '/', '.', 'a/..', 'a/.wh.b', `a/${OPAQUE_WHITEOUT}`]) {
      expect(() => whiteoutPath(path), path).toThrow(RangeError);
    }
    expect(() => whiteoutPath(7 as unknown as string)).toThrow(TypeError);
  });

  it('recognizes whiteouts and the opaque marker by their last component only', () => {
    expect(isWhiteout('a/b/.wh.c')).toBe(true);
    expect(isWhiteout(`a/${OPAQUE_WHITEOUT}`)).toBe(true);
    expect(isWhiteout('.wh.c')).toBe(true);
    expect(isWhiteout('.wh.dir/file')).toBe(false);
    expect(isWhiteout('a/x.wh.c')).toBe(false);
    expect(isWhiteout('a/b')).toBe(false);
    expect(isOpaqueWhiteout(`a/b/${OPAQUE_WHITEOUT}`)).toBe(true);
    expect(isOpaqueWhiteout(OPAQUE_WHITEOUT)).toBe(true);
    expect(isOpaqueWhiteout('a/.wh.c')).toBe(false);
    expect(isOpaqueWhiteout(`${OPAQUE_WHITEOUT}/x`)).toBe(false);
  });

  it('whiteoutTarget names what a whiteout deletes, and nothing for other paths', () => {
    expect(whiteoutTarget('a/b/.wh.c')).toBe('a/b/c');
    expect(whiteoutTarget('.wh.c')).toBe('c');
    expect(whiteoutTarget('./.wh..hidden')).toBe('./.hidden');
    expect(whiteoutTarget(`a/${OPAQUE_WHITEOUT}`)).toBeUndefined();
    expect(whiteoutTarget('a/.wh..wh.plnk')).toBeUndefined(); // AUFS metadata
    expect(whiteoutTarget('a/.wh.')).toBeUndefined();
    expect(whiteoutTarget('a/b/c')).toBeUndefined();
    expect(() => whiteoutTarget(null as unknown as string)).toThrow(TypeError);
  });

  it('whiteoutTarget(whiteoutPath(p)) is p without trailing slashes', () => {
    const component = fc
      .string({ minLength: 1, maxLength: 12 })
      .filter((text) => !text.includes('/') && text !== '.' && text !== '..' && !text.startsWith('.wh.'));
    fc.assert(
      fc.property(fc.array(component, { minLength: 1, maxLength: 5 }), fc.boolean(), (parts, slash) => {
        const path = parts.join('/');
        const whiteout = whiteoutPath(slash ? `${path}/` : path);
        expect(isWhiteout(whiteout)).toBe(true);
        expect(isOpaqueWhiteout(whiteout)).toBe(false);
        expect(whiteoutTarget(whiteout)).toBe(path);
      }),
    );
  });
});
