import { type RoomcastError } from "./shared/types";
/** @internal Any error from the bindings as a `RoomcastError`; others are `internal`. */
export declare function toRoomcastError(e: unknown): RoomcastError;
