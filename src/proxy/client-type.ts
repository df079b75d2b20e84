import { encodeError } from '../resp/encode.ts';

/**
 * Redis's client types, as CLIENT LIST TYPE and CLIENT KILL TYPE name them. A slotgate client is
 * only ever normal or pubsub: master and replica are replication links, which never come through a
 * proxy, so those types are accepted and match no client.
 */
export type ClientType = 'normal' | 'master' | 'replica' | 'pubsub';

/** A type by Redis's name for it ('slave' being the old name of 'replica', any case); null for none. */
export function parseClientType(name: string): ClientType | null {
  switch (name.toLowerCase()) {
    case 'normal':
      return 'normal';
    case 'master':
      return 'master';
    case 'replica':
    case 'slave':
      return 'replica';
    case 'pubsub':
      return 'pubsub';
    default:
      return null;
  }
}

/** Redis's error for a type it doesn't know, quoting the name as given. */
export function unknownClientType(name: string): Buffer {
  return encodeError(`ERR Unknown client type '${name}'`);
}

/** As Redis's CLIENT_PUBSUB flag: pubsub from the first subscription until the last is gone. */
export function clientTypeOf(client: { readonly subscribed: boolean }): ClientType {
  return client.subscribed ? 'pubsub' : 'normal';
}
