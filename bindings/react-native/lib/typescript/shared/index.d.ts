/** What both packages export from the shared façade (their entries add the platform's own). */
export { BaseClient, Room, type EventMap, type EventName, type IsUntyped, type PendingMessage, type Received, type SentMessage, } from "./client";
export { guard, isStandardSchema, type Decoder, type OnOptions, type StandardSchemaV1 } from "./decode";
export { isAbortError, isRoomcastError } from "./errors";
export { CONNECTION_STATES, ERROR_CODES, PRESENCE_EVENTS, STREAM_STATES, type BackoffOptions, type CallOptions, type ClientOptions, type ConnectionStateInfo, type ConnectionStateName, type ErrorCode, type Gap, type HistoryOptions, type HistoryPage, type JoinInfo, type JoinOptions, type Member, type MessageMeta, type Presence, type PublishAck, type PublishOptions, type Reply, type RoomcastError, type StoredMessage, type StreamInfo, type StreamPiece, type StreamState, type StreamWriter, type TokenProvider, type Unsubscribe, } from "./types";
