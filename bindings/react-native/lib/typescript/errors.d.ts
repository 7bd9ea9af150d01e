/** Every code, as in the web package's `ErrorCode` union. */
export declare const ERROR_CODES: readonly ["invalid_config", "invalid_room", "unauthorized", "forbidden", "not_joined", "too_large", "too_many_rooms", "queue_full", "not_connected", "connection_lost", "timeout", "closed", "gave_up", "invalid_payload", "token_provider", "protocol", "bad_request", "rate_limited", "unsupported_protocol", "internal", "not_found", "stream_ended", "storage", "store_locked", "kept", "decode", "handler", "room_lost"];
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
export declare function isRoomcastError(e: unknown): e is RoomcastError;
/** @internal A `RoomcastError` with `code` and `message`. */
export declare function roomcastError(code: ErrorCode, message: string, extra?: Partial<Pick<RoomcastError, "room" | "meta" | "data" | "cause">>): RoomcastError;
/** @internal Any error from the bindings as a `RoomcastError`; others are `internal`. */
export declare function toRoomcastError(e: unknown): RoomcastError;
