/**
 * The bindings' errors as `RoomcastError`s with the shared codes (`ERROR_CODES`,
 * bindings/shared/types.ts, checked against the core's by sdk-ffi's tests): the FFI's case
 * names are the core's codes in another case.
 */
import * as ffi from "./ffi";
import { isRoomcastError, roomcastError } from "./shared/errors";
import { ERROR_CODES, type ErrorCode, type RoomcastError } from "./shared/types";

/** `QueueFull` → `queue_full`: the FFI's case names are the core's codes (sdk-ffi's test). */
function snake(tag: string): string {
  return tag.replace(/[A-Z]/g, (c, i: number) => (i > 0 ? "_" : "") + c.toLowerCase());
}

const KNOWN = new Set<string>(ERROR_CODES);

/** @internal Any error from the bindings as a `RoomcastError`; others are `internal`. */
export function toRoomcastError(e: unknown): RoomcastError {
  if (isRoomcastError(e)) return e;
  if (ffi.RoomcastError.instanceOf(e)) {
    const inner = (e as { inner?: Record<string, unknown> }).inner ?? {};
    let code = snake(String(e.tag));
    if (e.tag === ffi.RoomcastError_Tags.Server && typeof inner.code === "string") code = inner.code;
    const extra: Partial<RoomcastError> = { cause: e };
    if (e.tag === ffi.RoomcastError_Tags.NotJoined && typeof inner.room === "string") extra.room = inner.room;
    return roomcastError(KNOWN.has(code) ? (code as ErrorCode) : "internal", describe(e.tag, inner), extra);
  }
  const message = e instanceof Error ? e.message : String(e);
  return roomcastError("internal", message, { cause: e });
}

/** The core's wording for the error (its Display), from the case and its fields. */
function describe(tag: string, inner: Record<string, unknown>): string {
  const reason = inner.reason;
  switch (tag) {
    case "NotJoined":
      return `room ${JSON.stringify(inner.room)} is not joined`;
    case "TooLarge":
      return `message of ${String(inner.size)} bytes is over the limit of ${String(inner.max)} bytes`;
    case "QueueFull":
      return `the offline queue is full (${String(inner.capacity)} publishes waiting)`;
    case "GaveUp":
      return `gave up reconnecting after ${String(inner.attempts)} attempts`;
    case "StoreLocked":
      return `the store at ${String(inner.path)} is in use by another process`;
    case "Server":
      return `server error ${String(inner.code)}: ${String(reason)}`;
    case "NotConnected":
      return "not connected";
    case "ConnectionLost":
      return "the connection was lost before the reply arrived";
    case "Timeout":
      return "no reply within the request timeout";
    case "Closed":
      return "the client is closed";
    case "Kept":
      return `not sent: kept in the store, to be sent once when it is opened again (${String(reason)})`;
    default:
      return typeof reason === "string" ? `${snake(tag).replace(/_/g, " ")}: ${reason}` : snake(tag).replace(/_/g, " ");
  }
}
