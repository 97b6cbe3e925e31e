/**
 * A JSON answer kept as its text, to be sent as it is: what a store that can pass its answer on
 * (the CRUD Service) gives, and what the transports then write without parsing it again.
 */
export class JsonText {
  constructor(readonly text: string) {}
}

/**
 * A JSON answer as the bytes it is made of, in pieces the transport writes one after the other as
 * the client takes them: a large answer (an import's 100,000 ids) is never joined into one string.
 */
export class JsonBytes {
  readonly length: number;

  constructor(readonly chunks: readonly Uint8Array[]) {
    this.length = chunks.reduce((total, chunk) => total + chunk.byteLength, 0);
  }
}
