// Where the command line reads and writes: the process's streams, or a test's buffers.

/** An output stream as the command line uses it. */
export interface CliOutput {
  write(text: string): void;
  /** Whether it is a terminal (progress bars and colours only then). */
  readonly isTTY: boolean;
  /** Its width in characters (80 when unknown). */
  readonly columns: number;
}

/** What a run of the command line reads and writes. */
export interface CliIo {
  readonly stdout: CliOutput;
  readonly stderr: CliOutput;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Aborted on SIGINT and SIGTERM (a copy stops and cleans up). */
  readonly signal?: AbortSignal;
}

/** The process's own streams and environment. */
export function processIo(signal?: AbortSignal): CliIo {
  const output = (stream: NodeJS.WriteStream): CliOutput => ({
    write: (text) => void stream.write(text),
    get isTTY() {
      return stream.isTTY === true;
    },
    get columns() {
      return stream.columns ?? 80;
    },
  });
  return {
    stdout: output(process.stdout),
    stderr: output(process.stderr),
    env: process.env,
    ...(signal === undefined ? {} : { signal }),
  };
}
