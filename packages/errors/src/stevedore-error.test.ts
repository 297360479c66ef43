import { describe, expect, it } from 'vitest';
import { excerpt, StevedoreError } from './index.ts';

describe('StevedoreError', () => {
  it('carries a code, a name, a message and a cause', () => {
    const cause = new Error('underlying');
    const error = new StevedoreError('ERR_EXAMPLE', 'it failed', { cause });
    expect(error).toBeInstanceOf(Error);
    expect(error.code).toBe('ERR_EXAMPLE');
    expect(error.name).toBe('StevedoreError');
    expect(error.message).toBe('it failed');
    expect(error.cause).toBe(cause);
    expect(String(error)).toBe('StevedoreError: it failed');
  });

  it('is() recognizes errors by brand and code, also from another copy of the class', () => {
    const error = new StevedoreError('ERR_A', 'a');
    expect(StevedoreError.is(error)).toBe(true);
    expect(StevedoreError.is(error, 'ERR_A')).toBe(true);
    expect(StevedoreError.is(error, 'ERR_B')).toBe(false);
    expect(StevedoreError.is(error, ['ERR_B', 'ERR_A'])).toBe(true);
    expect(StevedoreError.is(new Error('plain'))).toBe(false);
    expect(StevedoreError.is({ code: 'ERR_A' }, 'ERR_A')).toBe(false);
    expect(StevedoreError.is(null)).toBe(false);

    // A look-alike from a duplicated package copy carries the same global symbol.
    const foreign = Object.assign(new Error('x'), { code: 'ERR_A' });
    Object.defineProperty(foreign, Symbol.for('stevedore.error'), { value: true });
    expect(StevedoreError.is(foreign, 'ERR_A')).toBe(true);
  });

  it('has no cause property when none is given', () => {
    expect('cause' in new StevedoreError('ERR_A', 'a')).toBe(false);
  });
});

describe('excerpt', () => {
  it('quotes strings and cuts long values', () => {
    expect(excerpt('abc')).toBe('"abc"');
    expect(excerpt('x'.repeat(200), 10)).toBe(`"xxxxxxxx…`);
    expect(excerpt(42)).toBe('42');
    expect(excerpt(undefined)).toBe('undefined');
    expect(excerpt(new Uint8Array(3))).toBe('<3 bytes>');
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(excerpt(cyclic)).toBe('[object Object]');
  });
});
