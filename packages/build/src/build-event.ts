/** Something a build reports while it runs: a skipped file, a finished layer. */
export type BuildEvent =
  | { readonly type: 'warning'; readonly path: string; readonly message: string }
  | {
      readonly type: 'layer';
      readonly digest: string;
      readonly diffId: string;
      readonly size: number;
      readonly uncompressedSize: number;
    };

/** A callback for {@link BuildEvent}s. */
export type BuildEventHandler = (event: BuildEvent) => void;
