// Where the command line reads and writes: the process's streams, or memory.
import { once } from 'node:events';

/** An output stream as the command line uses it. */
export interface CliOutput {
  write(text: string): void;
  /** Writes bytes (a tar, a blob); resolves once the output can take more. */
  writeBytes(bytes: Uint8Array): Promise<void>;
  /** Whether it is a terminal (progress bars only then). */
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
    async writeBytes(bytes) {
      if (!stream.write(bytes)) await once(stream, 'drain');
    },
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

/** A run's output kept in memory. */
export interface CapturedIo {
  readonly io: CliIo;
  /** Everything written to stdout, as text. */
  stdout(): string;
  /** Everything written to stdout, as bytes. */
  stdoutBytes(): Uint8Array;
  stderr(): string;
}

/** Options for {@link captureIo}. */
export interface CaptureIoOptions {
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Whether the outputs claim to be terminals (default false). */
  readonly isTTY?: boolean;
  readonly signal?: AbortSignal;
}

/**
 * An io that keeps what a run writes in memory, for programs (and tests) that run the
 * command line and read its output.
 *
 * @example
 * ```ts
 * const captured = captureIo();
 * const code = await runCli(['digest', 'oci:./layout:v1'], captured.io);
 * console.log(code, captured.stdout());
 * ```
 */
export function captureIo(options: CaptureIoOptions = {}): CapturedIo {
  const encoder = new TextEncoder();
  const output = () => {
    const chunks: Uint8Array[] = [];
    const cli: CliOutput = {
      write: (text) => void chunks.push(encoder.encode(text)),
      async writeBytes(bytes) {
        chunks.push(bytes.slice());
      },
      isTTY: options.isTTY === true,
      columns: 80,
    };
    return { cli, bytes: () => Buffer.concat(chunks) };
  };
  const stdout = output();
  const stderr = output();
  return {
    io: {
      stdout: stdout.cli,
      stderr: stderr.cli,
      env: options.env ?? {},
      ...(options.signal === undefined ? {} : { signal: options.signal }),
    },
    stdout: () => new TextDecoder().decode(stdout.bytes()),
    stdoutBytes: () => new Uint8Array(stdout.bytes()),
    stderr: () => new TextDecoder().decode(stderr.bytes()),
  };
}
