/**
 * Errors as the web package reports them: an `Error` named `RoomcastError` with a stable
 * `code`, so an app branches on `err.code` the same way on the web and in React Native.
 *
 * The codes are the core's (`roomcast_core::Error::code`, the protocol's error codes) plus
 * three the typed layers add; `ERROR_CODES` is checked against the core by a Rust test
 * (sdk-ffi/src/error.rs) and against the web package's `ErrorCode` by `tsc`.
 */
import * as ffi from "./ffi";

/** Every code, as in the web package's `ErrorCode` union. */
export const ERROR_CODES = [
  "invalid_config",
  "invalid_room",
  "unauthorized",
  "forbidden",
  "not_joined",
  "too_large",
  "too_many_rooms",
  "queue_full",
  "not_connected",
  "connection_lost",
  "timeout",
  "closed",
  "gave_up",
  "invalid_payload",
  "token_provider",
  "protocol",
  "bad_request",
  "rate_limited",
  "unsupported_protocol",
  "internal",
  "not_found",
  "stream_ended",
  /** The store could not keep a publish, which was not sent. */
  "storage",
  /** Another client holds the store. */
  "store_locked",
  /** Not sent, not failed: the client stopped while it was queued; the store keeps it. */
  "kept",
  /** A typed handler's decoder rejected a payload. */
  "decode",
  /** An app handler threw. */
  "handler",
  /** The server refused to rejoin a room after a reconnect. */
  "room_lost",
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

/** Every rejection and error event is an `Error` with a `code`. */
export interface RoomcastError extends Error {
  name: "RoomcastError";
  code: ErrorCode;
  room?: string;
  /** decode and handler errors: the message concerned. */
  meta?: import("./types").MessageMeta;
  data?: unknown;
  cause?: unknown;
}

/** Narrows a caught value to a `RoomcastError`. */
export function isRoomcastError(e: unknown): e is RoomcastError {
  return e instanceof Error && e.name === "RoomcastError" && typeof (e as RoomcastError).code === "string";
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
