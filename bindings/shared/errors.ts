/** `RoomcastError`s: an `Error` named `RoomcastError` with a stable `code`, so an app branches
 * on `err.code` the same way on the web and in React Native. */
import type { ErrorCode, RoomcastError } from "./types.js";

/** Narrows a caught value to a `RoomcastError`. */
export function isRoomcastError(e: unknown): e is RoomcastError {
  return e instanceof Error && e.name === "RoomcastError" && typeof (e as RoomcastError).code === "string";
}

/** Narrows a caught value to the `AbortError` a call rejects with when its `signal` aborts. */
export function isAbortError(e: unknown): e is Error & { name: "AbortError" } {
  return e instanceof Error && e.name === "AbortError";
}

/** @internal A `RoomcastError` with `code` and `message`. */
export function roomcastError(
  code: ErrorCode,
  message: string,
  extra: Partial<Pick<RoomcastError, "room" | "meta" | "data" | "cause">> = {},
): RoomcastError {
  const e = new Error(message) as RoomcastError;
  e.name = "RoomcastError";
  e.code = code;
  for (const [k, v] of Object.entries(extra)) if (v !== undefined) (e as unknown as Record<string, unknown>)[k] = v;
  return e;
}

/** @internal The error an aborted call rejects with: an `Error` named `AbortError` (as `fetch`
 * rejects), the signal's reason as its `cause`. */
export function abortError(signal: AbortSignal, what: string): Error {
  const e = new Error(`${what} aborted`);
  e.name = "AbortError";
  (e as Error & { cause?: unknown }).cause = signal.reason;
  return e;
}
