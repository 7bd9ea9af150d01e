/**
 * The Roomcast client for React Native: the shared façade (bindings/shared, copied into
 * ./shared; the web package's API) over the uniffi bindings of the FFI crate (the same Rust
 * core the Swift package links). This file is the transport link (JSON payloads, 64-bit
 * integers as numbers, the bindings' errors as `RoomcastError`s, native objects released at
 * `close()`) and React Native's own hooks (`pending()`, `queued()`, the store path); it holds
 * no client logic.
 *
 * `./ffi` is the generated bindings: the JSI flavour in an app (src/ffi.ts), the N-API
 * flavour under Node for the tests (src/node/ffi.ts, swapped in when bundling them).
 */
import * as ffi from "./ffi";
import { BaseClient } from "./shared/client";
import type { ClientOptions } from "./shared/types";
export * from "./shared/index";
/** A persisted publish not yet acknowledged (`client.pending()`). */
export interface PendingPublish<T = unknown> {
    room: string;
    id: string;
    event: string;
    data: T;
}
/**
 * A Roomcast client. Reconnects, rejoins and re-sends queued publishes on its own until
 * `close()`. Hermes has no `FinalizationRegistry`: call `close()` when done (a screen's
 * cleanup, or the hooks' `RoomcastProvider`), which also releases the native objects the
 * client made.
 */
export declare class Client extends BaseClient<ffi.ClientInterface> {
    /** Throws a `RoomcastError` (`invalid_config`) for unusable options. */
    constructor(options: ClientOptions);
    /** Persisted publishes waiting for their ack (the "N queued" badge). */
    queued(): Promise<number>;
    /** Persisted publishes not yet acknowledged, oldest first (restored ones included). */
    pending(): Promise<PendingPublish[]>;
    /** Publishes restored from the store go to their rooms' `pending` until sent. The bindings
     * give no ack for them: each settles when `pending()` no longer lists it (checked every
     * 500 ms while any is left). */
    private showRestored;
}
