/**
 * What the React Native package adds to the shared types (bindings/shared/types.ts): the
 * options only a native client has, and what an ephemeral publish resolves with.
 */
export interface PlatformClientOptions {
  /**
   * A directory (e.g. the app's document directory) where the client keeps its offline queue
   * and room positions, so a client opened on it after the app was killed sends every
   * unacknowledged publish once and rooms resume where they were. One client per directory
   * (`store_locked` otherwise).
   */
  storePath?: string;
  /** Root certificates (DER) trusted for `wss://` besides the OS's. */
  extraRootsDer?: (ArrayBuffer | Uint8Array)[];
}

/** React Native joins resume from the store's positions; nothing to add. */
// eslint-disable-next-line @typescript-eslint/no-empty-interface
export interface PlatformJoinOptions {}

/** React Native publishes take their id from the core. */
// eslint-disable-next-line @typescript-eslint/no-empty-interface
export interface PlatformPublishOptions {}

/** An ephemeral publish resolves with nothing. */
export type EphemeralAck = void;
