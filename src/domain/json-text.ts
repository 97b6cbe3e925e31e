/**
 * A JSON answer kept as its text, to be sent as it is: what a store that can pass its answer on
 * (the CRUD Service) gives, and what the transports then write without parsing it again.
 */
export class JsonText {
  constructor(readonly text: string) {}
}
