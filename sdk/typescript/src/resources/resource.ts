import type { Airmy } from '../client.ts';

/** Every resource holds the client and goes through its one request loop. */
export abstract class APIResource {
  protected readonly client: Airmy;
  constructor(client: Airmy) {
    this.client = client;
  }
}
