// An HTTP answer as the client handles it, whichever way it was read (undici's pools, or
// `socketGet` for big blobs).

/** An answer's body: chunks, and ways to drop the rest. */
export interface AnswerBody extends AsyncIterable<Uint8Array> {
  /** Drops the rest of the body. */
  dump(): Promise<unknown>;
  /** Drops the rest of the body and the connection. */
  destroy(): void;
}

/** An HTTP answer: status, headers (lower-case names), body. */
export interface Answer {
  readonly status: number;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly body: AnswerBody;
}
