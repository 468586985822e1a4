/** The store's one error: a message that names the file and says what to do, never a stack trace. */
export class StoreError extends Error {
  constructor(
    /** The file or directory concerned. */
    readonly path: string,
    message: string,
  ) {
    super(`${path}: ${message}`);
    this.name = 'StoreError';
  }
}
