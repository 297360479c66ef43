// Questions asked on a terminal: a line typed back as it is read (a user name), or with
// nothing shown (a password), as docker login asks them.
import type { CliOutput } from './cli-io.ts';
import { CliError } from './errors.ts';

/** A terminal's input as prompts read it (process.stdin). */
export interface PromptInput extends AsyncIterable<Uint8Array | string> {
  setRawMode?(mode: boolean): unknown;
}

/** Asks questions on one input, one after another. */
export class Prompter {
  readonly #input: PromptInput;
  readonly #output: CliOutput;
  // One iterator for every question: leaving a `for await` would close the stream.
  #chunks: AsyncIterator<Uint8Array | string> | undefined;
  #pending = '';

  constructor(input: PromptInput, output: CliOutput) {
    this.#input = input;
    this.#output = output;
  }

  /**
   * Writes `question` and resolves to the line typed, echoed unless `hidden`. Backspace
   * removes a character; Ctrl-C or Ctrl-D on an empty line rejects with `ERR_USAGE`.
   */
  async ask(question: string, options: { readonly hidden?: boolean } = {}): Promise<string> {
    this.#output.write(question);
    this.#input.setRawMode?.(true);
    let answer = '';
    try {
      for (;;) {
        const character = await this.#nextCharacter();
        if (character === undefined || character === '\u0003' || (character === '\u0004' && answer === '')) {
          throw new CliError('ERR_USAGE', 'the question was not answered', {
            hint: 'run it again and answer, or give the flags',
          });
        }
        if (character === '\r' || character === '\n') break;
        if (character === '\u007f' || character === '\b') {
          if (answer.length > 0 && options.hidden !== true) this.#output.write('\b \b');
          answer = answer.slice(0, -1);
          continue;
        }
        if (character < ' ') continue; // other control characters are no part of an answer
        answer += character;
        if (options.hidden !== true) this.#output.write(character);
      }
    } finally {
      this.#input.setRawMode?.(false);
      this.#output.write('\n');
    }
    return answer;
  }

  async #nextCharacter(): Promise<string | undefined> {
    while (this.#pending === '') {
      this.#chunks ??= this.#input[Symbol.asyncIterator]();
      const { value, done } = await this.#chunks.next();
      if (done === true) return undefined;
      this.#pending = typeof value === 'string' ? value : new TextDecoder().decode(value);
    }
    const [character = ''] = this.#pending;
    this.#pending = this.#pending.slice(character.length);
    return character;
  }
}
