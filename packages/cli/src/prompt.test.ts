import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { captureIo } from './cli-io.ts';
import { Prompter } from './prompt.ts';

function terminal() {
  const input = new PassThrough({ encoding: 'utf8' });
  const modes: boolean[] = [];
  const typed = Object.assign(input, {
    setRawMode: (mode: boolean) => {
      modes.push(mode);
      return input;
    },
  });
  return { input: typed, modes };
}

describe('Prompter', () => {
  it('asks for a line shown as typed, then one hidden, on one input, in raw mode while asking', async () => {
    const { input, modes } = terminal();
    const captured = captureIo();
    const prompter = new Prompter(input, captured.io.stderr);
    input.write('alicX\u007fe\r');
    input.write('won');
    input.write('derland\r');
    expect(await prompter.ask('Username: ')).toBe('alice');
    expect(await prompter.ask('Password: ', { hidden: true })).toBe('wonderland');
    expect(captured.stderr()).toBe('Username: alicX\b \be\nPassword: \n');
    expect(modes).toEqual([true, false, true, false]);
  });

  it('refuses with ERR_USAGE on Ctrl-C or an input that ends, and leaves raw mode', async () => {
    const { input, modes } = terminal();
    const prompter = new Prompter(input, captureIo().io.stderr);
    input.write('ab\u0003');
    await expect(prompter.ask('Password: ', { hidden: true })).rejects.toMatchObject({ code: 'ERR_USAGE' });
    input.end();
    await expect(prompter.ask('Password: ', { hidden: true })).rejects.toMatchObject({ code: 'ERR_USAGE' });
    expect(modes).toEqual([true, false, true, false]);
  });
});
