/** `RoomcastError`s: an `Error` named `RoomcastError` with a stable `code`, so an app branches
 * on `err.code` the same way on the web and in React Native. */
import type { ErrorCode, RoomcastError } from "./types";
/** Narrows a caught value to a `RoomcastError`. */
export declare function isRoomcastError(e: unknown): e is RoomcastError;
/** Narrows a caught value to the `AbortError` a call rejects with when its `signal` aborts. */
export declare function isAbortError(e: unknown): e is Error & {
    name: "AbortError";
};
/** @internal A `RoomcastError` with `code` and `message`. */
export declare function roomcastError(code: ErrorCode, message: string, extra?: Partial<Pick<RoomcastError, "room" | "meta" | "data" | "cause">>): RoomcastError;
/** @internal The error an aborted call rejects with: an `Error` named `AbortError` (as `fetch`
 * rejects), the signal's reason as its `cause`. */
export declare function abortError(signal: AbortSignal, what: string): Error;
