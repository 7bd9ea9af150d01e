import { type UniffiByteArray, type UniffiGcObject, type UniffiHandle, Cursor, FfiConverterObject, FfiConverterObjectWithCallbacks, UniffiAbstractObject, destructorGuardSymbol, pointerLiteralSymbol, uniffiTypeNameSymbol } from "@ubjs/core";
/**
 * Stops logging: the sink is released and events are skipped at their call sites again.
 */
export declare function clearLogSink(): void;
/**
 * A policy in the foreground with a path, keeping the connection `grace` long in the
 * background.
 */
export declare function connectionPolicyNew(grace: number): ConnectionPolicyState;
/**
 * Steps `state` by `input` (see `roomcast_core::connectivity` for the rules).
 */
export declare function connectionPolicyStep(state: ConnectionPolicyState, input: PolicyInput): PolicyStep;
/**
 * Sends the SDK's events at `level` and above to `sink`, replacing any sink set before. The
 * sink is process-wide: it receives the events of every client.
 *
 * Fails with `InvalidConfig` when another `tracing` subscriber was made this library's
 * global default first (possible only when Rust code in the same library did so).
 */
export declare function setLogSink(sink: LogSink, level: LogLevel): void;
/**
 * How to build a [`Client`](crate::Client).
 */
export type ClientConfig = {
    /**
     * `ws://` or `wss://` URL of the server's `/ws` endpoint.
     */
    url: string;
    /**
     * A token to start with; without one a token provider is required.
     */
    token?: string;
    /**
     * A stable device or installation id (e.g. `identifierForVendor`).
     */
    clientId: string;
    /**
     * Kind of client shown to others as a badge: `ios`, `macos`, `web`, `cli`, ...
     */
    source: string;
    /**
     * Human readable device name.
     */
    name?: string;
    /**
     * First reconnect delay before jitter.
     */
    minDelayMs: bigint;
    /**
     * Cap on the reconnect delay before jitter.
     */
    maxDelayMs: bigint;
    /**
     * Reconnect attempts before giving up; `None` retries forever.
     */
    maxAttempts?: number;
    /**
     * Most persisted publishes waiting for their ack.
     */
    queueCapacity: number;
    /**
     * A directory where the client keeps its offline queue and each room's position, so
     * that after the app is terminated (or crashes) a client opened on the same directory,
     * with the same `client_id`, sends every unacknowledged publish once and a room joined
     * again resumes where the app was. On Apple platforms: a directory in Application
     * Support. `None` keeps both in memory only.
     */
    storePath?: string;
    /**
     * Root certificates (DER, e.g. a `.cer` file's bytes) trusted for `wss://` besides the
     * operating system's trust store: a private CA the OS does not know, or a development
     * server's own. CAs the user or a device manager installed need nothing here: the OS
     * store already has them. A certificate that does not parse fails with `InvalidConfig`.
     */
    extraRootsDer: Array<ArrayBuffer>;
};
/**
 * Generated factory for {@link ClientConfig} record objects.
 */
export declare const ClientConfig: Readonly<{
    create: (partial: Partial<ClientConfig> & Required<Omit<ClientConfig, "token" | "name" | "minDelayMs" | "maxDelayMs" | "maxAttempts" | "queueCapacity" | "storePath" | "extraRootsDer">>) => ClientConfig;
    new: (partial: Partial<ClientConfig> & Required<Omit<ClientConfig, "token" | "name" | "minDelayMs" | "maxDelayMs" | "maxAttempts" | "queueCapacity" | "storePath" | "extraRootsDer">>) => ClientConfig;
    defaults: () => Partial<ClientConfig>;
}>;
/**
 * The policy's state. Times are in the caller's unit (Swift: seconds, React Native:
 * milliseconds), the grace period in the same.
 */
export type ConnectionPolicyState = {
    grace: number;
    isForeground: boolean;
    isPathSatisfied: boolean;
    /**
     * The interfaces of the last satisfied path, sorted.
     */
    interfaces: Array<string>;
    /**
     * When the background grace period ends; `None` unless in it.
     */
    pauseAt?: number;
    /**
     * Whether the policy paused the client (it only resumes what it paused).
     */
    isPaused: boolean;
};
/**
 * Generated factory for {@link ConnectionPolicyState} record objects.
 */
export declare const ConnectionPolicyState: Readonly<{
    create: (partial: Partial<ConnectionPolicyState> & Required<Omit<ConnectionPolicyState, "pauseAt">>) => ConnectionPolicyState;
    new: (partial: Partial<ConnectionPolicyState> & Required<Omit<ConnectionPolicyState, "pauseAt">>) => ConnectionPolicyState;
    defaults: () => Partial<ConnectionPolicyState>;
}>;
/**
 * Messages were missed and could not be replayed; page them in with `history` if needed.
 */
export type Gap = {
    room: string;
    /**
     * The last seq this client had (in `previous_epoch`).
     */
    since?: bigint;
    previousEpoch?: string;
    /**
     * The last seq of the missing run (the room's head, when a resume reports it), and the
     * epoch now: seqs after `since` up to `head` were not delivered.
     */
    head: bigint;
    epoch: string;
};
/**
 * Generated factory for {@link Gap} record objects.
 */
export declare const Gap: Readonly<{
    create: (partial: Partial<Gap> & Required<Omit<Gap, "since" | "previousEpoch">>) => Gap;
    new: (partial: Partial<Gap> & Required<Omit<Gap, "since" | "previousEpoch">>) => Gap;
    defaults: () => Partial<Gap>;
}>;
/**
 * A connection present in a room, and the author of a message.
 */
export type Member = {
    user: string;
    /**
     * The author's client id.
     */
    client: string;
    /**
     * Kind of client (`ios`, `web`, `cli`, ...), for badges.
     */
    source: string;
    name?: string;
};
/**
 * Generated factory for {@link Member} record objects.
 */
export declare const Member: Readonly<{
    create: (partial: Partial<Member> & Required<Omit<Member, "name">>) => Member;
    new: (partial: Partial<Member> & Required<Omit<Member, "name">>) => Member;
    defaults: () => Partial<Member>;
}>;
/**
 * Where a streamed message stands.
 */
export declare enum StreamState {
    Open = 0,
    Done = 1,
    Cancelled = 2,
    Failed = 3
}
/**
 * A streamed message's text so far, on its opening message.
 */
export type StreamInfo = {
    state: StreamState;
    text: string;
    /**
     * How many pieces the text holds.
     */
    n: bigint;
};
/**
 * Generated factory for {@link StreamInfo} record objects.
 */
export declare const StreamInfo: Readonly<{
    create: (partial: Partial<StreamInfo> & Required<Omit<StreamInfo, never>>) => StreamInfo;
    new: (partial: Partial<StreamInfo> & Required<Omit<StreamInfo, never>>) => StreamInfo;
    defaults: () => Partial<StreamInfo>;
}>;
/**
 * A room message, live, replayed on resume, or from history.
 */
export type Message = {
    room: string;
    /**
     * Position in the room's history; `None` for ephemeral messages.
     */
    seq?: bigint;
    id: string;
    event: string;
    /**
     * The payload as JSON text.
     */
    dataJson: string;
    from: Member;
    /**
     * Server time, Unix milliseconds.
     */
    ts: bigint;
    /**
     * On a streamed message's opening message: its text so far (later pieces reach a
     * `StreamListener`).
     */
    stream?: StreamInfo;
};
/**
 * Generated factory for {@link Message} record objects.
 */
export declare const Message: Readonly<{
    create: (partial: Partial<Message> & Required<Omit<Message, "seq" | "stream">>) => Message;
    new: (partial: Partial<Message> & Required<Omit<Message, "seq" | "stream">>) => Message;
    defaults: () => Partial<Message>;
}>;
/**
 * Stored messages, ascending by seq; `more` when older ones remain.
 */
export type HistoryPage = {
    room: string;
    messages: Array<Message>;
    more: boolean;
};
/**
 * Generated factory for {@link HistoryPage} record objects.
 */
export declare const HistoryPage: Readonly<{
    create: (partial: Partial<HistoryPage> & Required<Omit<HistoryPage, never>>) => HistoryPage;
    new: (partial: Partial<HistoryPage> & Required<Omit<HistoryPage, never>>) => HistoryPage;
    defaults: () => Partial<HistoryPage>;
}>;
/**
 * The room was joined, first or again after a reconnect. `presence` replaces any member
 * list the app kept, since leaves during the outage were never seen.
 */
export type JoinInfo = {
    room: string;
    /**
     * The room's head at join time.
     */
    seq: bigint;
    epoch: string;
    /**
     * False when missed messages could not all be replayed (a gap was reported too).
     */
    recovered: boolean;
    /**
     * Everyone present now, this client included.
     */
    presence: Array<Member>;
    /**
     * True for the automatic rejoin after a reconnect.
     */
    rejoin: boolean;
};
/**
 * Generated factory for {@link JoinInfo} record objects.
 */
export declare const JoinInfo: Readonly<{
    create: (partial: Partial<JoinInfo> & Required<Omit<JoinInfo, never>>) => JoinInfo;
    new: (partial: Partial<JoinInfo> & Required<Omit<JoinInfo, never>>) => JoinInfo;
    defaults: () => Partial<JoinInfo>;
}>;
/**
 * How much to log, most severe first; a sink at `Info` gets `Error`, `Warn` and `Info`.
 */
export declare enum LogLevel {
    Error = 0,
    Warn = 1,
    Info = 2,
    Debug = 3,
    Trace = 4
}
/**
 * One event of the SDK.
 */
export type LogRecord = {
    level: LogLevel;
    /**
     * Where it comes from: a Rust module path (`roomcast_core::native::driver`), usable as
     * an `os.Logger` category.
     */
    target: string;
    /**
     * The message, then its fields as `key=value`.
     */
    message: string;
};
/**
 * Generated factory for {@link LogRecord} record objects.
 */
export declare const LogRecord: Readonly<{
    create: (partial: Partial<LogRecord> & Required<Omit<LogRecord, never>>) => LogRecord;
    new: (partial: Partial<LogRecord> & Required<Omit<LogRecord, never>>) => LogRecord;
    defaults: () => Partial<LogRecord>;
}>;
/**
 * A persisted publish not yet acknowledged by the server (see `Client::pending`).
 */
export type PendingPublish = {
    room: string;
    id: string;
    event: string;
    /**
     * The payload as JSON text.
     */
    dataJson: string;
};
/**
 * Generated factory for {@link PendingPublish} record objects.
 */
export declare const PendingPublish: Readonly<{
    create: (partial: Partial<PendingPublish> & Required<Omit<PendingPublish, never>>) => PendingPublish;
    new: (partial: Partial<PendingPublish> & Required<Omit<PendingPublish, never>>) => PendingPublish;
    defaults: () => Partial<PendingPublish>;
}>;
/**
 * What to do to the client.
 */
export declare enum PolicyCommand {
    Pause = 0,
    Resume = 1,
    ReconnectNow = 2
}
/**
 * The state after an input, and the commands to apply.
 */
export type PolicyStep = {
    state: ConnectionPolicyState;
    commands: Array<PolicyCommand>;
};
/**
 * Generated factory for {@link PolicyStep} record objects.
 */
export declare const PolicyStep: Readonly<{
    create: (partial: Partial<PolicyStep> & Required<Omit<PolicyStep, never>>) => PolicyStep;
    new: (partial: Partial<PolicyStep> & Required<Omit<PolicyStep, never>>) => PolicyStep;
    defaults: () => Partial<PolicyStep>;
}>;
export declare enum PresenceKind {
    Join = 0,
    Leave = 1
}
/**
 * A member joined or left a room.
 */
export type PresenceEvent = {
    room: string;
    kind: PresenceKind;
    member: Member;
};
/**
 * Generated factory for {@link PresenceEvent} record objects.
 */
export declare const PresenceEvent: Readonly<{
    create: (partial: Partial<PresenceEvent> & Required<Omit<PresenceEvent, never>>) => PresenceEvent;
    new: (partial: Partial<PresenceEvent> & Required<Omit<PresenceEvent, never>>) => PresenceEvent;
    defaults: () => Partial<PresenceEvent>;
}>;
/**
 * The server's acknowledgement of a publish.
 */
export type PublishAck = {
    id: string;
    /**
     * Position in the room's history; `None` for ephemeral publishes.
     */
    seq?: bigint;
    ts: bigint;
};
/**
 * Generated factory for {@link PublishAck} record objects.
 */
export declare const PublishAck: Readonly<{
    create: (partial: Partial<PublishAck> & Required<Omit<PublishAck, "seq">>) => PublishAck;
    new: (partial: Partial<PublishAck> & Required<Omit<PublishAck, "seq">>) => PublishAck;
    defaults: () => Partial<PublishAck>;
}>;
/**
 * The next piece of a streamed message: `text` goes after what its stream showed so far.
 * Pieces of a stream arrive once and in order, the last with `end` set.
 */
export type StreamPiece = {
    room: string;
    seq: bigint;
    /**
     * The seq of the stream's opening message.
     */
    of: bigint;
    /**
     * The id of the stream's opening message.
     */
    id: string;
    /**
     * The index of the stream's first piece this one holds.
     */
    n: bigint;
    text: string;
    /**
     * How the stream ended, on its last piece.
     */
    end?: StreamState;
    from: Member;
    ts: bigint;
};
/**
 * Generated factory for {@link StreamPiece} record objects.
 */
export declare const StreamPiece: Readonly<{
    create: (partial: Partial<StreamPiece> & Required<Omit<StreamPiece, "end">>) => StreamPiece;
    new: (partial: Partial<StreamPiece> & Required<Omit<StreamPiece, "end">>) => StreamPiece;
    defaults: () => Partial<StreamPiece>;
}>;
export declare enum ConnectionState_Tags {
    Idle = "Idle",
    Connecting = "Connecting",
    Connected = "Connected",
    Reconnecting = "Reconnecting",
    Paused = "Paused",
    Unauthorized = "Unauthorized",
    Closed = "Closed"
}
/**
 * Where the connection stands.
 */
export declare const ConnectionState: Readonly<{
    instanceOf: (obj: any) => obj is ConnectionState;
    Idle: {
        new (): {
            readonly tag: ConnectionState_Tags.Idle;
            /**
             * @private
             * This field is private and should not be used, use `tag` instead.
             */
            readonly [uniffiTypeNameSymbol]: "ConnectionState";
        };
        "new"(): {
            readonly tag: ConnectionState_Tags.Idle;
            /**
             * @private
             * This field is private and should not be used, use `tag` instead.
             */
            readonly [uniffiTypeNameSymbol]: "ConnectionState";
        };
        instanceOf(obj: any): obj is {
            readonly tag: ConnectionState_Tags.Idle;
            /**
             * @private
             * This field is private and should not be used, use `tag` instead.
             */
            readonly [uniffiTypeNameSymbol]: "ConnectionState";
        };
    };
    Connecting: {
        new (inner: {
            attempt: number;
        }): {
            readonly tag: ConnectionState_Tags.Connecting;
            readonly inner: Readonly<{
                attempt: number;
            }>;
            /**
             * @private
             * This field is private and should not be used, use `tag` instead.
             */
            readonly [uniffiTypeNameSymbol]: "ConnectionState";
        };
        "new"(inner: {
            attempt: number;
        }): {
            readonly tag: ConnectionState_Tags.Connecting;
            readonly inner: Readonly<{
                attempt: number;
            }>;
            /**
             * @private
             * This field is private and should not be used, use `tag` instead.
             */
            readonly [uniffiTypeNameSymbol]: "ConnectionState";
        };
        instanceOf(obj: any): obj is {
            readonly tag: ConnectionState_Tags.Connecting;
            readonly inner: Readonly<{
                attempt: number;
            }>;
            /**
             * @private
             * This field is private and should not be used, use `tag` instead.
             */
            readonly [uniffiTypeNameSymbol]: "ConnectionState";
        };
    };
    Connected: {
        new (): {
            readonly tag: ConnectionState_Tags.Connected;
            /**
             * @private
             * This field is private and should not be used, use `tag` instead.
             */
            readonly [uniffiTypeNameSymbol]: "ConnectionState";
        };
        "new"(): {
            readonly tag: ConnectionState_Tags.Connected;
            /**
             * @private
             * This field is private and should not be used, use `tag` instead.
             */
            readonly [uniffiTypeNameSymbol]: "ConnectionState";
        };
        instanceOf(obj: any): obj is {
            readonly tag: ConnectionState_Tags.Connected;
            /**
             * @private
             * This field is private and should not be used, use `tag` instead.
             */
            readonly [uniffiTypeNameSymbol]: "ConnectionState";
        };
    };
    Reconnecting: {
        new (inner: {
            attempt: number;
            delayMs: bigint;
        }): {
            readonly tag: ConnectionState_Tags.Reconnecting;
            readonly inner: Readonly<{
                attempt: number;
                delayMs: bigint;
            }>;
            /**
             * @private
             * This field is private and should not be used, use `tag` instead.
             */
            readonly [uniffiTypeNameSymbol]: "ConnectionState";
        };
        "new"(inner: {
            attempt: number;
            delayMs: bigint;
        }): {
            readonly tag: ConnectionState_Tags.Reconnecting;
            readonly inner: Readonly<{
                attempt: number;
                delayMs: bigint;
            }>;
            /**
             * @private
             * This field is private and should not be used, use `tag` instead.
             */
            readonly [uniffiTypeNameSymbol]: "ConnectionState";
        };
        instanceOf(obj: any): obj is {
            readonly tag: ConnectionState_Tags.Reconnecting;
            readonly inner: Readonly<{
                attempt: number;
                delayMs: bigint;
            }>;
            /**
             * @private
             * This field is private and should not be used, use `tag` instead.
             */
            readonly [uniffiTypeNameSymbol]: "ConnectionState";
        };
    };
    Paused: {
        new (): {
            readonly tag: ConnectionState_Tags.Paused;
            /**
             * @private
             * This field is private and should not be used, use `tag` instead.
             */
            readonly [uniffiTypeNameSymbol]: "ConnectionState";
        };
        "new"(): {
            readonly tag: ConnectionState_Tags.Paused;
            /**
             * @private
             * This field is private and should not be used, use `tag` instead.
             */
            readonly [uniffiTypeNameSymbol]: "ConnectionState";
        };
        instanceOf(obj: any): obj is {
            readonly tag: ConnectionState_Tags.Paused;
            /**
             * @private
             * This field is private and should not be used, use `tag` instead.
             */
            readonly [uniffiTypeNameSymbol]: "ConnectionState";
        };
    };
    Unauthorized: {
        new (): {
            readonly tag: ConnectionState_Tags.Unauthorized;
            /**
             * @private
             * This field is private and should not be used, use `tag` instead.
             */
            readonly [uniffiTypeNameSymbol]: "ConnectionState";
        };
        "new"(): {
            readonly tag: ConnectionState_Tags.Unauthorized;
            /**
             * @private
             * This field is private and should not be used, use `tag` instead.
             */
            readonly [uniffiTypeNameSymbol]: "ConnectionState";
        };
        instanceOf(obj: any): obj is {
            readonly tag: ConnectionState_Tags.Unauthorized;
            /**
             * @private
             * This field is private and should not be used, use `tag` instead.
             */
            readonly [uniffiTypeNameSymbol]: "ConnectionState";
        };
    };
    Closed: {
        new (): {
            readonly tag: ConnectionState_Tags.Closed;
            /**
             * @private
             * This field is private and should not be used, use `tag` instead.
             */
            readonly [uniffiTypeNameSymbol]: "ConnectionState";
        };
        "new"(): {
            readonly tag: ConnectionState_Tags.Closed;
            /**
             * @private
             * This field is private and should not be used, use `tag` instead.
             */
            readonly [uniffiTypeNameSymbol]: "ConnectionState";
        };
        instanceOf(obj: any): obj is {
            readonly tag: ConnectionState_Tags.Closed;
            /**
             * @private
             * This field is private and should not be used, use `tag` instead.
             */
            readonly [uniffiTypeNameSymbol]: "ConnectionState";
        };
    };
}>;
/**
 * Where the connection stands.
 */
export type ConnectionState = InstanceType<typeof ConnectionState['Idle' | 'Connecting' | 'Connected' | 'Reconnecting' | 'Paused' | 'Unauthorized' | 'Closed']>;
export declare enum PolicyInput_Tags {
    EnteredBackground = "EnteredBackground",
    GracePeriodEnded = "GracePeriodEnded",
    EnteredForeground = "EnteredForeground",
    PathChanged = "PathChanged"
}
/**
 * What happened to the app.
 */
export declare const PolicyInput: Readonly<{
    instanceOf: (obj: any) => obj is PolicyInput;
    EnteredBackground: {
        new (inner: {
            now: number;
        }): {
            readonly tag: PolicyInput_Tags.EnteredBackground;
            readonly inner: Readonly<{
                now: number;
            }>;
            /**
             * @private
             * This field is private and should not be used, use `tag` instead.
             */
            readonly [uniffiTypeNameSymbol]: "PolicyInput";
        };
        "new"(inner: {
            now: number;
        }): {
            readonly tag: PolicyInput_Tags.EnteredBackground;
            readonly inner: Readonly<{
                now: number;
            }>;
            /**
             * @private
             * This field is private and should not be used, use `tag` instead.
             */
            readonly [uniffiTypeNameSymbol]: "PolicyInput";
        };
        instanceOf(obj: any): obj is {
            readonly tag: PolicyInput_Tags.EnteredBackground;
            readonly inner: Readonly<{
                now: number;
            }>;
            /**
             * @private
             * This field is private and should not be used, use `tag` instead.
             */
            readonly [uniffiTypeNameSymbol]: "PolicyInput";
        };
    };
    GracePeriodEnded: {
        new (inner: {
            now: number;
        }): {
            readonly tag: PolicyInput_Tags.GracePeriodEnded;
            readonly inner: Readonly<{
                now: number;
            }>;
            /**
             * @private
             * This field is private and should not be used, use `tag` instead.
             */
            readonly [uniffiTypeNameSymbol]: "PolicyInput";
        };
        "new"(inner: {
            now: number;
        }): {
            readonly tag: PolicyInput_Tags.GracePeriodEnded;
            readonly inner: Readonly<{
                now: number;
            }>;
            /**
             * @private
             * This field is private and should not be used, use `tag` instead.
             */
            readonly [uniffiTypeNameSymbol]: "PolicyInput";
        };
        instanceOf(obj: any): obj is {
            readonly tag: PolicyInput_Tags.GracePeriodEnded;
            readonly inner: Readonly<{
                now: number;
            }>;
            /**
             * @private
             * This field is private and should not be used, use `tag` instead.
             */
            readonly [uniffiTypeNameSymbol]: "PolicyInput";
        };
    };
    EnteredForeground: {
        new (): {
            readonly tag: PolicyInput_Tags.EnteredForeground;
            /**
             * @private
             * This field is private and should not be used, use `tag` instead.
             */
            readonly [uniffiTypeNameSymbol]: "PolicyInput";
        };
        "new"(): {
            readonly tag: PolicyInput_Tags.EnteredForeground;
            /**
             * @private
             * This field is private and should not be used, use `tag` instead.
             */
            readonly [uniffiTypeNameSymbol]: "PolicyInput";
        };
        instanceOf(obj: any): obj is {
            readonly tag: PolicyInput_Tags.EnteredForeground;
            /**
             * @private
             * This field is private and should not be used, use `tag` instead.
             */
            readonly [uniffiTypeNameSymbol]: "PolicyInput";
        };
    };
    PathChanged: {
        new (inner: {
            satisfied: boolean;
            interfaces: Array<string>;
        }): {
            readonly tag: PolicyInput_Tags.PathChanged;
            readonly inner: Readonly<{
                satisfied: boolean;
                interfaces: Array<string>;
            }>;
            /**
             * @private
             * This field is private and should not be used, use `tag` instead.
             */
            readonly [uniffiTypeNameSymbol]: "PolicyInput";
        };
        "new"(inner: {
            satisfied: boolean;
            interfaces: Array<string>;
        }): {
            readonly tag: PolicyInput_Tags.PathChanged;
            readonly inner: Readonly<{
                satisfied: boolean;
                interfaces: Array<string>;
            }>;
            /**
             * @private
             * This field is private and should not be used, use `tag` instead.
             */
            readonly [uniffiTypeNameSymbol]: "PolicyInput";
        };
        instanceOf(obj: any): obj is {
            readonly tag: PolicyInput_Tags.PathChanged;
            readonly inner: Readonly<{
                satisfied: boolean;
                interfaces: Array<string>;
            }>;
            /**
             * @private
             * This field is private and should not be used, use `tag` instead.
             */
            readonly [uniffiTypeNameSymbol]: "PolicyInput";
        };
    };
}>;
/**
 * What happened to the app.
 */
export type PolicyInput = InstanceType<typeof PolicyInput['EnteredBackground' | 'GracePeriodEnded' | 'EnteredForeground' | 'PathChanged']>;
/**
 * What a room's resume does when the server's replay limit cut it short.
 */
export declare enum ResumeMode {
    /**
     * Page the missed messages in from history before newer ones: every stored message
     * once, in order (the default).
     */
    Full = 0,
    /**
     * Take only the newest the server replays; the rest is reported with `on_gap` (a view
     * that shows the latest state).
     */
    Latest = 1
}
export declare enum RoomcastError_Tags {
    InvalidConfig = "InvalidConfig",
    InvalidRoom = "InvalidRoom",
    InvalidPayload = "InvalidPayload",
    Unauthorized = "Unauthorized",
    Forbidden = "Forbidden",
    NotJoined = "NotJoined",
    TooLarge = "TooLarge",
    TooManyRooms = "TooManyRooms",
    RateLimited = "RateLimited",
    QueueFull = "QueueFull",
    NotConnected = "NotConnected",
    ConnectionLost = "ConnectionLost",
    Timeout = "Timeout",
    Closed = "Closed",
    GaveUp = "GaveUp",
    TokenProvider = "TokenProvider",
    Server = "Server",
    Protocol = "Protocol",
    Storage = "Storage",
    StoreLocked = "StoreLocked",
    Internal = "Internal",
    Kept = "Kept"
}
/**
 * Why a Roomcast call failed.
 */
export declare const RoomcastError: Readonly<{
    instanceOf: (obj: any) => obj is RoomcastError;
    InvalidConfig: {
        new (inner: {
            reason: string;
        }): {
            readonly tag: RoomcastError_Tags.InvalidConfig;
            readonly inner: Readonly<{
                reason: string;
            }>;
            /**
             * @private
             * This field is private and should not be used, use `tag` instead.
             */
            readonly [uniffiTypeNameSymbol]: "RoomcastError";
            name: string;
            message: string;
            stack?: string;
        };
        "new"(inner: {
            reason: string;
        }): {
            readonly tag: RoomcastError_Tags.InvalidConfig;
            readonly inner: Readonly<{
                reason: string;
            }>;
            /**
             * @private
             * This field is private and should not be used, use `tag` instead.
             */
            readonly [uniffiTypeNameSymbol]: "RoomcastError";
            name: string;
            message: string;
            stack?: string;
        };
        instanceOf(obj: any): obj is {
            readonly tag: RoomcastError_Tags.InvalidConfig;
            readonly inner: Readonly<{
                reason: string;
            }>;
            /**
             * @private
             * This field is private and should not be used, use `tag` instead.
             */
            readonly [uniffiTypeNameSymbol]: "RoomcastError";
            name: string;
            message: string;
            stack?: string;
        };
        hasInner(obj: any): obj is {
            readonly tag: RoomcastError_Tags.InvalidConfig;
            readonly inner: Readonly<{
                reason: string;
            }>;
            /**
             * @private
             * This field is private and should not be used, use `tag` instead.
             */
            readonly [uniffiTypeNameSymbol]: "RoomcastError";
            name: string;
            message: string;
            stack?: string;
        };
        getInner(obj: {
            readonly tag: RoomcastError_Tags.InvalidConfig;
            readonly inner: Readonly<{
                reason: string;
            }>;
            /**
             * @private
             * This field is private and should not be used, use `tag` instead.
             */
            readonly [uniffiTypeNameSymbol]: "RoomcastError";
            name: string;
            message: string;
            stack?: string;
        }): Readonly<{
            reason: string;
        }>;
    };
    InvalidRoom: {
        new (inner: {
            reason: string;
        }): {
            readonly tag: RoomcastError_Tags.InvalidRoom;
            readonly inner: Readonly<{
                reason: string;
            }>;
            /**
             * @private
             * This field is private and should not be used, use `tag` instead.
             */
            readonly [uniffiTypeNameSymbol]: "RoomcastError";
            name: string;
            message: string;
            stack?: string;
        };
        "new"(inner: {
            reason: string;
        }): {
            readonly tag: RoomcastError_Tags.InvalidRoom;
            readonly inner: Readonly<{
                reason: string;
            }>;
            /**
             * @private
             * This field is private and should not be used, use `tag` instead.
             */
            readonly [uniffiTypeNameSymbol]: "RoomcastError";
            name: string;
            message: string;
            stack?: string;
        };
        instanceOf(obj: any): obj is {
            readonly tag: RoomcastError_Tags.InvalidRoom;
            readonly inner: Readonly<{
                reason: string;
            }>;
            /**
             * @private
             * This field is private and should not be used, use `tag` instead.
             */
            readonly [uniffiTypeNameSymbol]: "RoomcastError";
            name: string;
            message: string;
            stack?: string;
        };
        hasInner(obj: any): obj is {
            readonly tag: RoomcastError_Tags.InvalidRoom;
            readonly inner: Readonly<{
                reason: string;
            }>;
            /**
             * @private
             * This field is private and should not be used, use `tag` instead.
             */
            readonly [uniffiTypeNameSymbol]: "RoomcastError";
            name: string;
            message: string;
            stack?: string;
        };
        getInner(obj: {
            readonly tag: RoomcastError_Tags.InvalidRoom;
            readonly inner: Readonly<{
                reason: string;
            }>;
            /**
             * @private
             * This field is private and should not be used, use `tag` instead.
             */
            readonly [uniffiTypeNameSymbol]: "RoomcastError";
            name: string;
            message: string;
            stack?: string;
        }): Readonly<{
            reason: string;
        }>;
    };
    InvalidPayload: {
        new (inner: {
            reason: string;
        }): {
            readonly tag: RoomcastError_Tags.InvalidPayload;
            readonly inner: Readonly<{
                reason: string;
            }>;
            /**
             * @private
             * This field is private and should not be used, use `tag` instead.
             */
            readonly [uniffiTypeNameSymbol]: "RoomcastError";
            name: string;
            message: string;
            stack?: string;
        };
        "new"(inner: {
            reason: string;
        }): {
            readonly tag: RoomcastError_Tags.InvalidPayload;
            readonly inner: Readonly<{
                reason: string;
            }>;
            /**
             * @private
             * This field is private and should not be used, use `tag` instead.
             */
            readonly [uniffiTypeNameSymbol]: "RoomcastError";
            name: string;
            message: string;
            stack?: string;
        };
        instanceOf(obj: any): obj is {
            readonly tag: RoomcastError_Tags.InvalidPayload;
            readonly inner: Readonly<{
                reason: string;
            }>;
            /**
             * @private
             * This field is private and should not be used, use `tag` instead.
             */
            readonly [uniffiTypeNameSymbol]: "RoomcastError";
            name: string;
            message: string;
            stack?: string;
        };
        hasInner(obj: any): obj is {
            readonly tag: RoomcastError_Tags.InvalidPayload;
            readonly inner: Readonly<{
                reason: string;
            }>;
            /**
             * @private
             * This field is private and should not be used, use `tag` instead.
             */
            readonly [uniffiTypeNameSymbol]: "RoomcastError";
            name: string;
            message: string;
            stack?: string;
        };
        getInner(obj: {
            readonly tag: RoomcastError_Tags.InvalidPayload;
            readonly inner: Readonly<{
                reason: string;
            }>;
            /**
             * @private
             * This field is private and should not be used, use `tag` instead.
             */
            readonly [uniffiTypeNameSymbol]: "RoomcastError";
            name: string;
            message: string;
            stack?: string;
        }): Readonly<{
            reason: string;
        }>;
    };
    Unauthorized: {
        new (inner: {
            reason: string;
        }): {
            readonly tag: RoomcastError_Tags.Unauthorized;
            readonly inner: Readonly<{
                reason: string;
            }>;
            /**
             * @private
             * This field is private and should not be used, use `tag` instead.
             */
            readonly [uniffiTypeNameSymbol]: "RoomcastError";
            name: string;
            message: string;
            stack?: string;
        };
        "new"(inner: {
            reason: string;
        }): {
            readonly tag: RoomcastError_Tags.Unauthorized;
            readonly inner: Readonly<{
                reason: string;
            }>;
            /**
             * @private
             * This field is private and should not be used, use `tag` instead.
             */
            readonly [uniffiTypeNameSymbol]: "RoomcastError";
            name: string;
            message: string;
            stack?: string;
        };
        instanceOf(obj: any): obj is {
            readonly tag: RoomcastError_Tags.Unauthorized;
            readonly inner: Readonly<{
                reason: string;
            }>;
            /**
             * @private
             * This field is private and should not be used, use `tag` instead.
             */
            readonly [uniffiTypeNameSymbol]: "RoomcastError";
            name: string;
            message: string;
            stack?: string;
        };
        hasInner(obj: any): obj is {
            readonly tag: RoomcastError_Tags.Unauthorized;
            readonly inner: Readonly<{
                reason: string;
            }>;
            /**
             * @private
             * This field is private and should not be used, use `tag` instead.
             */
            readonly [uniffiTypeNameSymbol]: "RoomcastError";
            name: string;
            message: string;
            stack?: string;
        };
        getInner(obj: {
            readonly tag: RoomcastError_Tags.Unauthorized;
            readonly inner: Readonly<{
                reason: string;
            }>;
            /**
             * @private
             * This field is private and should not be used, use `tag` instead.
             */
            readonly [uniffiTypeNameSymbol]: "RoomcastError";
            name: string;
            message: string;
            stack?: string;
        }): Readonly<{
            reason: string;
        }>;
    };
    Forbidden: {
        new (inner: {
            reason: string;
        }): {
            readonly tag: RoomcastError_Tags.Forbidden;
            readonly inner: Readonly<{
                reason: string;
            }>;
            /**
             * @private
             * This field is private and should not be used, use `tag` instead.
             */
            readonly [uniffiTypeNameSymbol]: "RoomcastError";
            name: string;
            message: string;
            stack?: string;
        };
        "new"(inner: {
            reason: string;
        }): {
            readonly tag: RoomcastError_Tags.Forbidden;
            readonly inner: Readonly<{
                reason: string;
            }>;
            /**
             * @private
             * This field is private and should not be used, use `tag` instead.
             */
            readonly [uniffiTypeNameSymbol]: "RoomcastError";
            name: string;
            message: string;
            stack?: string;
        };
        instanceOf(obj: any): obj is {
            readonly tag: RoomcastError_Tags.Forbidden;
            readonly inner: Readonly<{
                reason: string;
            }>;
            /**
             * @private
             * This field is private and should not be used, use `tag` instead.
             */
            readonly [uniffiTypeNameSymbol]: "RoomcastError";
            name: string;
            message: string;
            stack?: string;
        };
        hasInner(obj: any): obj is {
            readonly tag: RoomcastError_Tags.Forbidden;
            readonly inner: Readonly<{
                reason: string;
            }>;
            /**
             * @private
             * This field is private and should not be used, use `tag` instead.
             */
            readonly [uniffiTypeNameSymbol]: "RoomcastError";
            name: string;
            message: string;
            stack?: string;
        };
        getInner(obj: {
            readonly tag: RoomcastError_Tags.Forbidden;
            readonly inner: Readonly<{
                reason: string;
            }>;
            /**
             * @private
             * This field is private and should not be used, use `tag` instead.
             */
            readonly [uniffiTypeNameSymbol]: "RoomcastError";
            name: string;
            message: string;
            stack?: string;
        }): Readonly<{
            reason: string;
        }>;
    };
    NotJoined: {
        new (inner: {
            room: string;
        }): {
            readonly tag: RoomcastError_Tags.NotJoined;
            readonly inner: Readonly<{
                room: string;
            }>;
            /**
             * @private
             * This field is private and should not be used, use `tag` instead.
             */
            readonly [uniffiTypeNameSymbol]: "RoomcastError";
            name: string;
            message: string;
            stack?: string;
        };
        "new"(inner: {
            room: string;
        }): {
            readonly tag: RoomcastError_Tags.NotJoined;
            readonly inner: Readonly<{
                room: string;
            }>;
            /**
             * @private
             * This field is private and should not be used, use `tag` instead.
             */
            readonly [uniffiTypeNameSymbol]: "RoomcastError";
            name: string;
            message: string;
            stack?: string;
        };
        instanceOf(obj: any): obj is {
            readonly tag: RoomcastError_Tags.NotJoined;
            readonly inner: Readonly<{
                room: string;
            }>;
            /**
             * @private
             * This field is private and should not be used, use `tag` instead.
             */
            readonly [uniffiTypeNameSymbol]: "RoomcastError";
            name: string;
            message: string;
            stack?: string;
        };
        hasInner(obj: any): obj is {
            readonly tag: RoomcastError_Tags.NotJoined;
            readonly inner: Readonly<{
                room: string;
            }>;
            /**
             * @private
             * This field is private and should not be used, use `tag` instead.
             */
            readonly [uniffiTypeNameSymbol]: "RoomcastError";
            name: string;
            message: string;
            stack?: string;
        };
        getInner(obj: {
            readonly tag: RoomcastError_Tags.NotJoined;
            readonly inner: Readonly<{
                room: string;
            }>;
            /**
             * @private
             * This field is private and should not be used, use `tag` instead.
             */
            readonly [uniffiTypeNameSymbol]: "RoomcastError";
            name: string;
            message: string;
            stack?: string;
        }): Readonly<{
            room: string;
        }>;
    };
    TooLarge: {
        new (inner: {
            size: bigint;
            max: bigint;
        }): {
            readonly tag: RoomcastError_Tags.TooLarge;
            readonly inner: Readonly<{
                size: bigint;
                max: bigint;
            }>;
            /**
             * @private
             * This field is private and should not be used, use `tag` instead.
             */
            readonly [uniffiTypeNameSymbol]: "RoomcastError";
            name: string;
            message: string;
            stack?: string;
        };
        "new"(inner: {
            size: bigint;
            max: bigint;
        }): {
            readonly tag: RoomcastError_Tags.TooLarge;
            readonly inner: Readonly<{
                size: bigint;
                max: bigint;
            }>;
            /**
             * @private
             * This field is private and should not be used, use `tag` instead.
             */
            readonly [uniffiTypeNameSymbol]: "RoomcastError";
            name: string;
            message: string;
            stack?: string;
        };
        instanceOf(obj: any): obj is {
            readonly tag: RoomcastError_Tags.TooLarge;
            readonly inner: Readonly<{
                size: bigint;
                max: bigint;
            }>;
            /**
             * @private
             * This field is private and should not be used, use `tag` instead.
             */
            readonly [uniffiTypeNameSymbol]: "RoomcastError";
            name: string;
            message: string;
            stack?: string;
        };
        hasInner(obj: any): obj is {
            readonly tag: RoomcastError_Tags.TooLarge;
            readonly inner: Readonly<{
                size: bigint;
                max: bigint;
            }>;
            /**
             * @private
             * This field is private and should not be used, use `tag` instead.
             */
            readonly [uniffiTypeNameSymbol]: "RoomcastError";
            name: string;
            message: string;
            stack?: string;
        };
        getInner(obj: {
            readonly tag: RoomcastError_Tags.TooLarge;
            readonly inner: Readonly<{
                size: bigint;
                max: bigint;
            }>;
            /**
             * @private
             * This field is private and should not be used, use `tag` instead.
             */
            readonly [uniffiTypeNameSymbol]: "RoomcastError";
            name: string;
            message: string;
            stack?: string;
        }): Readonly<{
            size: bigint;
            max: bigint;
        }>;
    };
    TooManyRooms: {
        new (inner: {
            reason: string;
        }): {
            readonly tag: RoomcastError_Tags.TooManyRooms;
            readonly inner: Readonly<{
                reason: string;
            }>;
            /**
             * @private
             * This field is private and should not be used, use `tag` instead.
             */
            readonly [uniffiTypeNameSymbol]: "RoomcastError";
            name: string;
            message: string;
            stack?: string;
        };
        "new"(inner: {
            reason: string;
        }): {
            readonly tag: RoomcastError_Tags.TooManyRooms;
            readonly inner: Readonly<{
                reason: string;
            }>;
            /**
             * @private
             * This field is private and should not be used, use `tag` instead.
             */
            readonly [uniffiTypeNameSymbol]: "RoomcastError";
            name: string;
            message: string;
            stack?: string;
        };
        instanceOf(obj: any): obj is {
            readonly tag: RoomcastError_Tags.TooManyRooms;
            readonly inner: Readonly<{
                reason: string;
            }>;
            /**
             * @private
             * This field is private and should not be used, use `tag` instead.
             */
            readonly [uniffiTypeNameSymbol]: "RoomcastError";
            name: string;
            message: string;
            stack?: string;
        };
        hasInner(obj: any): obj is {
            readonly tag: RoomcastError_Tags.TooManyRooms;
            readonly inner: Readonly<{
                reason: string;
            }>;
            /**
             * @private
             * This field is private and should not be used, use `tag` instead.
             */
            readonly [uniffiTypeNameSymbol]: "RoomcastError";
            name: string;
            message: string;
            stack?: string;
        };
        getInner(obj: {
            readonly tag: RoomcastError_Tags.TooManyRooms;
            readonly inner: Readonly<{
                reason: string;
            }>;
            /**
             * @private
             * This field is private and should not be used, use `tag` instead.
             */
            readonly [uniffiTypeNameSymbol]: "RoomcastError";
            name: string;
            message: string;
            stack?: string;
        }): Readonly<{
            reason: string;
        }>;
    };
    RateLimited: {
        new (inner: {
            reason: string;
        }): {
            readonly tag: RoomcastError_Tags.RateLimited;
            readonly inner: Readonly<{
                reason: string;
            }>;
            /**
             * @private
             * This field is private and should not be used, use `tag` instead.
             */
            readonly [uniffiTypeNameSymbol]: "RoomcastError";
            name: string;
            message: string;
            stack?: string;
        };
        "new"(inner: {
            reason: string;
        }): {
            readonly tag: RoomcastError_Tags.RateLimited;
            readonly inner: Readonly<{
                reason: string;
            }>;
            /**
             * @private
             * This field is private and should not be used, use `tag` instead.
             */
            readonly [uniffiTypeNameSymbol]: "RoomcastError";
            name: string;
            message: string;
            stack?: string;
        };
        instanceOf(obj: any): obj is {
            readonly tag: RoomcastError_Tags.RateLimited;
            readonly inner: Readonly<{
                reason: string;
            }>;
            /**
             * @private
             * This field is private and should not be used, use `tag` instead.
             */
            readonly [uniffiTypeNameSymbol]: "RoomcastError";
            name: string;
            message: string;
            stack?: string;
        };
        hasInner(obj: any): obj is {
            readonly tag: RoomcastError_Tags.RateLimited;
            readonly inner: Readonly<{
                reason: string;
            }>;
            /**
             * @private
             * This field is private and should not be used, use `tag` instead.
             */
            readonly [uniffiTypeNameSymbol]: "RoomcastError";
            name: string;
            message: string;
            stack?: string;
        };
        getInner(obj: {
            readonly tag: RoomcastError_Tags.RateLimited;
            readonly inner: Readonly<{
                reason: string;
            }>;
            /**
             * @private
             * This field is private and should not be used, use `tag` instead.
             */
            readonly [uniffiTypeNameSymbol]: "RoomcastError";
            name: string;
            message: string;
            stack?: string;
        }): Readonly<{
            reason: string;
        }>;
    };
    QueueFull: {
        new (inner: {
            capacity: bigint;
        }): {
            readonly tag: RoomcastError_Tags.QueueFull;
            readonly inner: Readonly<{
                capacity: bigint;
            }>;
            /**
             * @private
             * This field is private and should not be used, use `tag` instead.
             */
            readonly [uniffiTypeNameSymbol]: "RoomcastError";
            name: string;
            message: string;
            stack?: string;
        };
        "new"(inner: {
            capacity: bigint;
        }): {
            readonly tag: RoomcastError_Tags.QueueFull;
            readonly inner: Readonly<{
                capacity: bigint;
            }>;
            /**
             * @private
             * This field is private and should not be used, use `tag` instead.
             */
            readonly [uniffiTypeNameSymbol]: "RoomcastError";
            name: string;
            message: string;
            stack?: string;
        };
        instanceOf(obj: any): obj is {
            readonly tag: RoomcastError_Tags.QueueFull;
            readonly inner: Readonly<{
                capacity: bigint;
            }>;
            /**
             * @private
             * This field is private and should not be used, use `tag` instead.
             */
            readonly [uniffiTypeNameSymbol]: "RoomcastError";
            name: string;
            message: string;
            stack?: string;
        };
        hasInner(obj: any): obj is {
            readonly tag: RoomcastError_Tags.QueueFull;
            readonly inner: Readonly<{
                capacity: bigint;
            }>;
            /**
             * @private
             * This field is private and should not be used, use `tag` instead.
             */
            readonly [uniffiTypeNameSymbol]: "RoomcastError";
            name: string;
            message: string;
            stack?: string;
        };
        getInner(obj: {
            readonly tag: RoomcastError_Tags.QueueFull;
            readonly inner: Readonly<{
                capacity: bigint;
            }>;
            /**
             * @private
             * This field is private and should not be used, use `tag` instead.
             */
            readonly [uniffiTypeNameSymbol]: "RoomcastError";
            name: string;
            message: string;
            stack?: string;
        }): Readonly<{
            capacity: bigint;
        }>;
    };
    NotConnected: {
        new (): {
            readonly tag: RoomcastError_Tags.NotConnected;
            /**
             * @private
             * This field is private and should not be used, use `tag` instead.
             */
            readonly [uniffiTypeNameSymbol]: "RoomcastError";
            name: string;
            message: string;
            stack?: string;
        };
        "new"(): {
            readonly tag: RoomcastError_Tags.NotConnected;
            /**
             * @private
             * This field is private and should not be used, use `tag` instead.
             */
            readonly [uniffiTypeNameSymbol]: "RoomcastError";
            name: string;
            message: string;
            stack?: string;
        };
        instanceOf(obj: any): obj is {
            readonly tag: RoomcastError_Tags.NotConnected;
            /**
             * @private
             * This field is private and should not be used, use `tag` instead.
             */
            readonly [uniffiTypeNameSymbol]: "RoomcastError";
            name: string;
            message: string;
            stack?: string;
        };
        hasInner(obj: any): obj is {
            readonly tag: RoomcastError_Tags.NotConnected;
            /**
             * @private
             * This field is private and should not be used, use `tag` instead.
             */
            readonly [uniffiTypeNameSymbol]: "RoomcastError";
            name: string;
            message: string;
            stack?: string;
        };
    };
    ConnectionLost: {
        new (): {
            readonly tag: RoomcastError_Tags.ConnectionLost;
            /**
             * @private
             * This field is private and should not be used, use `tag` instead.
             */
            readonly [uniffiTypeNameSymbol]: "RoomcastError";
            name: string;
            message: string;
            stack?: string;
        };
        "new"(): {
            readonly tag: RoomcastError_Tags.ConnectionLost;
            /**
             * @private
             * This field is private and should not be used, use `tag` instead.
             */
            readonly [uniffiTypeNameSymbol]: "RoomcastError";
            name: string;
            message: string;
            stack?: string;
        };
        instanceOf(obj: any): obj is {
            readonly tag: RoomcastError_Tags.ConnectionLost;
            /**
             * @private
             * This field is private and should not be used, use `tag` instead.
             */
            readonly [uniffiTypeNameSymbol]: "RoomcastError";
            name: string;
            message: string;
            stack?: string;
        };
        hasInner(obj: any): obj is {
            readonly tag: RoomcastError_Tags.ConnectionLost;
            /**
             * @private
             * This field is private and should not be used, use `tag` instead.
             */
            readonly [uniffiTypeNameSymbol]: "RoomcastError";
            name: string;
            message: string;
            stack?: string;
        };
    };
    Timeout: {
        new (): {
            readonly tag: RoomcastError_Tags.Timeout;
            /**
             * @private
             * This field is private and should not be used, use `tag` instead.
             */
            readonly [uniffiTypeNameSymbol]: "RoomcastError";
            name: string;
            message: string;
            stack?: string;
        };
        "new"(): {
            readonly tag: RoomcastError_Tags.Timeout;
            /**
             * @private
             * This field is private and should not be used, use `tag` instead.
             */
            readonly [uniffiTypeNameSymbol]: "RoomcastError";
            name: string;
            message: string;
            stack?: string;
        };
        instanceOf(obj: any): obj is {
            readonly tag: RoomcastError_Tags.Timeout;
            /**
             * @private
             * This field is private and should not be used, use `tag` instead.
             */
            readonly [uniffiTypeNameSymbol]: "RoomcastError";
            name: string;
            message: string;
            stack?: string;
        };
        hasInner(obj: any): obj is {
            readonly tag: RoomcastError_Tags.Timeout;
            /**
             * @private
             * This field is private and should not be used, use `tag` instead.
             */
            readonly [uniffiTypeNameSymbol]: "RoomcastError";
            name: string;
            message: string;
            stack?: string;
        };
    };
    Closed: {
        new (): {
            readonly tag: RoomcastError_Tags.Closed;
            /**
             * @private
             * This field is private and should not be used, use `tag` instead.
             */
            readonly [uniffiTypeNameSymbol]: "RoomcastError";
            name: string;
            message: string;
            stack?: string;
        };
        "new"(): {
            readonly tag: RoomcastError_Tags.Closed;
            /**
             * @private
             * This field is private and should not be used, use `tag` instead.
             */
            readonly [uniffiTypeNameSymbol]: "RoomcastError";
            name: string;
            message: string;
            stack?: string;
        };
        instanceOf(obj: any): obj is {
            readonly tag: RoomcastError_Tags.Closed;
            /**
             * @private
             * This field is private and should not be used, use `tag` instead.
             */
            readonly [uniffiTypeNameSymbol]: "RoomcastError";
            name: string;
            message: string;
            stack?: string;
        };
        hasInner(obj: any): obj is {
            readonly tag: RoomcastError_Tags.Closed;
            /**
             * @private
             * This field is private and should not be used, use `tag` instead.
             */
            readonly [uniffiTypeNameSymbol]: "RoomcastError";
            name: string;
            message: string;
            stack?: string;
        };
    };
    GaveUp: {
        new (inner: {
            attempts: number;
        }): {
            readonly tag: RoomcastError_Tags.GaveUp;
            readonly inner: Readonly<{
                attempts: number;
            }>;
            /**
             * @private
             * This field is private and should not be used, use `tag` instead.
             */
            readonly [uniffiTypeNameSymbol]: "RoomcastError";
            name: string;
            message: string;
            stack?: string;
        };
        "new"(inner: {
            attempts: number;
        }): {
            readonly tag: RoomcastError_Tags.GaveUp;
            readonly inner: Readonly<{
                attempts: number;
            }>;
            /**
             * @private
             * This field is private and should not be used, use `tag` instead.
             */
            readonly [uniffiTypeNameSymbol]: "RoomcastError";
            name: string;
            message: string;
            stack?: string;
        };
        instanceOf(obj: any): obj is {
            readonly tag: RoomcastError_Tags.GaveUp;
            readonly inner: Readonly<{
                attempts: number;
            }>;
            /**
             * @private
             * This field is private and should not be used, use `tag` instead.
             */
            readonly [uniffiTypeNameSymbol]: "RoomcastError";
            name: string;
            message: string;
            stack?: string;
        };
        hasInner(obj: any): obj is {
            readonly tag: RoomcastError_Tags.GaveUp;
            readonly inner: Readonly<{
                attempts: number;
            }>;
            /**
             * @private
             * This field is private and should not be used, use `tag` instead.
             */
            readonly [uniffiTypeNameSymbol]: "RoomcastError";
            name: string;
            message: string;
            stack?: string;
        };
        getInner(obj: {
            readonly tag: RoomcastError_Tags.GaveUp;
            readonly inner: Readonly<{
                attempts: number;
            }>;
            /**
             * @private
             * This field is private and should not be used, use `tag` instead.
             */
            readonly [uniffiTypeNameSymbol]: "RoomcastError";
            name: string;
            message: string;
            stack?: string;
        }): Readonly<{
            attempts: number;
        }>;
    };
    TokenProvider: {
        new (inner: {
            reason: string;
        }): {
            readonly tag: RoomcastError_Tags.TokenProvider;
            readonly inner: Readonly<{
                reason: string;
            }>;
            /**
             * @private
             * This field is private and should not be used, use `tag` instead.
             */
            readonly [uniffiTypeNameSymbol]: "RoomcastError";
            name: string;
            message: string;
            stack?: string;
        };
        "new"(inner: {
            reason: string;
        }): {
            readonly tag: RoomcastError_Tags.TokenProvider;
            readonly inner: Readonly<{
                reason: string;
            }>;
            /**
             * @private
             * This field is private and should not be used, use `tag` instead.
             */
            readonly [uniffiTypeNameSymbol]: "RoomcastError";
            name: string;
            message: string;
            stack?: string;
        };
        instanceOf(obj: any): obj is {
            readonly tag: RoomcastError_Tags.TokenProvider;
            readonly inner: Readonly<{
                reason: string;
            }>;
            /**
             * @private
             * This field is private and should not be used, use `tag` instead.
             */
            readonly [uniffiTypeNameSymbol]: "RoomcastError";
            name: string;
            message: string;
            stack?: string;
        };
        hasInner(obj: any): obj is {
            readonly tag: RoomcastError_Tags.TokenProvider;
            readonly inner: Readonly<{
                reason: string;
            }>;
            /**
             * @private
             * This field is private and should not be used, use `tag` instead.
             */
            readonly [uniffiTypeNameSymbol]: "RoomcastError";
            name: string;
            message: string;
            stack?: string;
        };
        getInner(obj: {
            readonly tag: RoomcastError_Tags.TokenProvider;
            readonly inner: Readonly<{
                reason: string;
            }>;
            /**
             * @private
             * This field is private and should not be used, use `tag` instead.
             */
            readonly [uniffiTypeNameSymbol]: "RoomcastError";
            name: string;
            message: string;
            stack?: string;
        }): Readonly<{
            reason: string;
        }>;
    };
    Server: {
        new (inner: {
            code: string;
            reason: string;
        }): {
            readonly tag: RoomcastError_Tags.Server;
            readonly inner: Readonly<{
                code: string;
                reason: string;
            }>;
            /**
             * @private
             * This field is private and should not be used, use `tag` instead.
             */
            readonly [uniffiTypeNameSymbol]: "RoomcastError";
            name: string;
            message: string;
            stack?: string;
        };
        "new"(inner: {
            code: string;
            reason: string;
        }): {
            readonly tag: RoomcastError_Tags.Server;
            readonly inner: Readonly<{
                code: string;
                reason: string;
            }>;
            /**
             * @private
             * This field is private and should not be used, use `tag` instead.
             */
            readonly [uniffiTypeNameSymbol]: "RoomcastError";
            name: string;
            message: string;
            stack?: string;
        };
        instanceOf(obj: any): obj is {
            readonly tag: RoomcastError_Tags.Server;
            readonly inner: Readonly<{
                code: string;
                reason: string;
            }>;
            /**
             * @private
             * This field is private and should not be used, use `tag` instead.
             */
            readonly [uniffiTypeNameSymbol]: "RoomcastError";
            name: string;
            message: string;
            stack?: string;
        };
        hasInner(obj: any): obj is {
            readonly tag: RoomcastError_Tags.Server;
            readonly inner: Readonly<{
                code: string;
                reason: string;
            }>;
            /**
             * @private
             * This field is private and should not be used, use `tag` instead.
             */
            readonly [uniffiTypeNameSymbol]: "RoomcastError";
            name: string;
            message: string;
            stack?: string;
        };
        getInner(obj: {
            readonly tag: RoomcastError_Tags.Server;
            readonly inner: Readonly<{
                code: string;
                reason: string;
            }>;
            /**
             * @private
             * This field is private and should not be used, use `tag` instead.
             */
            readonly [uniffiTypeNameSymbol]: "RoomcastError";
            name: string;
            message: string;
            stack?: string;
        }): Readonly<{
            code: string;
            reason: string;
        }>;
    };
    Protocol: {
        new (inner: {
            reason: string;
        }): {
            readonly tag: RoomcastError_Tags.Protocol;
            readonly inner: Readonly<{
                reason: string;
            }>;
            /**
             * @private
             * This field is private and should not be used, use `tag` instead.
             */
            readonly [uniffiTypeNameSymbol]: "RoomcastError";
            name: string;
            message: string;
            stack?: string;
        };
        "new"(inner: {
            reason: string;
        }): {
            readonly tag: RoomcastError_Tags.Protocol;
            readonly inner: Readonly<{
                reason: string;
            }>;
            /**
             * @private
             * This field is private and should not be used, use `tag` instead.
             */
            readonly [uniffiTypeNameSymbol]: "RoomcastError";
            name: string;
            message: string;
            stack?: string;
        };
        instanceOf(obj: any): obj is {
            readonly tag: RoomcastError_Tags.Protocol;
            readonly inner: Readonly<{
                reason: string;
            }>;
            /**
             * @private
             * This field is private and should not be used, use `tag` instead.
             */
            readonly [uniffiTypeNameSymbol]: "RoomcastError";
            name: string;
            message: string;
            stack?: string;
        };
        hasInner(obj: any): obj is {
            readonly tag: RoomcastError_Tags.Protocol;
            readonly inner: Readonly<{
                reason: string;
            }>;
            /**
             * @private
             * This field is private and should not be used, use `tag` instead.
             */
            readonly [uniffiTypeNameSymbol]: "RoomcastError";
            name: string;
            message: string;
            stack?: string;
        };
        getInner(obj: {
            readonly tag: RoomcastError_Tags.Protocol;
            readonly inner: Readonly<{
                reason: string;
            }>;
            /**
             * @private
             * This field is private and should not be used, use `tag` instead.
             */
            readonly [uniffiTypeNameSymbol]: "RoomcastError";
            name: string;
            message: string;
            stack?: string;
        }): Readonly<{
            reason: string;
        }>;
    };
    Storage: {
        new (inner: {
            reason: string;
        }): {
            readonly tag: RoomcastError_Tags.Storage;
            readonly inner: Readonly<{
                reason: string;
            }>;
            /**
             * @private
             * This field is private and should not be used, use `tag` instead.
             */
            readonly [uniffiTypeNameSymbol]: "RoomcastError";
            name: string;
            message: string;
            stack?: string;
        };
        "new"(inner: {
            reason: string;
        }): {
            readonly tag: RoomcastError_Tags.Storage;
            readonly inner: Readonly<{
                reason: string;
            }>;
            /**
             * @private
             * This field is private and should not be used, use `tag` instead.
             */
            readonly [uniffiTypeNameSymbol]: "RoomcastError";
            name: string;
            message: string;
            stack?: string;
        };
        instanceOf(obj: any): obj is {
            readonly tag: RoomcastError_Tags.Storage;
            readonly inner: Readonly<{
                reason: string;
            }>;
            /**
             * @private
             * This field is private and should not be used, use `tag` instead.
             */
            readonly [uniffiTypeNameSymbol]: "RoomcastError";
            name: string;
            message: string;
            stack?: string;
        };
        hasInner(obj: any): obj is {
            readonly tag: RoomcastError_Tags.Storage;
            readonly inner: Readonly<{
                reason: string;
            }>;
            /**
             * @private
             * This field is private and should not be used, use `tag` instead.
             */
            readonly [uniffiTypeNameSymbol]: "RoomcastError";
            name: string;
            message: string;
            stack?: string;
        };
        getInner(obj: {
            readonly tag: RoomcastError_Tags.Storage;
            readonly inner: Readonly<{
                reason: string;
            }>;
            /**
             * @private
             * This field is private and should not be used, use `tag` instead.
             */
            readonly [uniffiTypeNameSymbol]: "RoomcastError";
            name: string;
            message: string;
            stack?: string;
        }): Readonly<{
            reason: string;
        }>;
    };
    StoreLocked: {
        new (inner: {
            path: string;
        }): {
            readonly tag: RoomcastError_Tags.StoreLocked;
            readonly inner: Readonly<{
                path: string;
            }>;
            /**
             * @private
             * This field is private and should not be used, use `tag` instead.
             */
            readonly [uniffiTypeNameSymbol]: "RoomcastError";
            name: string;
            message: string;
            stack?: string;
        };
        "new"(inner: {
            path: string;
        }): {
            readonly tag: RoomcastError_Tags.StoreLocked;
            readonly inner: Readonly<{
                path: string;
            }>;
            /**
             * @private
             * This field is private and should not be used, use `tag` instead.
             */
            readonly [uniffiTypeNameSymbol]: "RoomcastError";
            name: string;
            message: string;
            stack?: string;
        };
        instanceOf(obj: any): obj is {
            readonly tag: RoomcastError_Tags.StoreLocked;
            readonly inner: Readonly<{
                path: string;
            }>;
            /**
             * @private
             * This field is private and should not be used, use `tag` instead.
             */
            readonly [uniffiTypeNameSymbol]: "RoomcastError";
            name: string;
            message: string;
            stack?: string;
        };
        hasInner(obj: any): obj is {
            readonly tag: RoomcastError_Tags.StoreLocked;
            readonly inner: Readonly<{
                path: string;
            }>;
            /**
             * @private
             * This field is private and should not be used, use `tag` instead.
             */
            readonly [uniffiTypeNameSymbol]: "RoomcastError";
            name: string;
            message: string;
            stack?: string;
        };
        getInner(obj: {
            readonly tag: RoomcastError_Tags.StoreLocked;
            readonly inner: Readonly<{
                path: string;
            }>;
            /**
             * @private
             * This field is private and should not be used, use `tag` instead.
             */
            readonly [uniffiTypeNameSymbol]: "RoomcastError";
            name: string;
            message: string;
            stack?: string;
        }): Readonly<{
            path: string;
        }>;
    };
    Internal: {
        new (inner: {
            reason: string;
        }): {
            readonly tag: RoomcastError_Tags.Internal;
            readonly inner: Readonly<{
                reason: string;
            }>;
            /**
             * @private
             * This field is private and should not be used, use `tag` instead.
             */
            readonly [uniffiTypeNameSymbol]: "RoomcastError";
            name: string;
            message: string;
            stack?: string;
        };
        "new"(inner: {
            reason: string;
        }): {
            readonly tag: RoomcastError_Tags.Internal;
            readonly inner: Readonly<{
                reason: string;
            }>;
            /**
             * @private
             * This field is private and should not be used, use `tag` instead.
             */
            readonly [uniffiTypeNameSymbol]: "RoomcastError";
            name: string;
            message: string;
            stack?: string;
        };
        instanceOf(obj: any): obj is {
            readonly tag: RoomcastError_Tags.Internal;
            readonly inner: Readonly<{
                reason: string;
            }>;
            /**
             * @private
             * This field is private and should not be used, use `tag` instead.
             */
            readonly [uniffiTypeNameSymbol]: "RoomcastError";
            name: string;
            message: string;
            stack?: string;
        };
        hasInner(obj: any): obj is {
            readonly tag: RoomcastError_Tags.Internal;
            readonly inner: Readonly<{
                reason: string;
            }>;
            /**
             * @private
             * This field is private and should not be used, use `tag` instead.
             */
            readonly [uniffiTypeNameSymbol]: "RoomcastError";
            name: string;
            message: string;
            stack?: string;
        };
        getInner(obj: {
            readonly tag: RoomcastError_Tags.Internal;
            readonly inner: Readonly<{
                reason: string;
            }>;
            /**
             * @private
             * This field is private and should not be used, use `tag` instead.
             */
            readonly [uniffiTypeNameSymbol]: "RoomcastError";
            name: string;
            message: string;
            stack?: string;
        }): Readonly<{
            reason: string;
        }>;
    };
    Kept: {
        new (inner: {
            reason: string;
        }): {
            readonly tag: RoomcastError_Tags.Kept;
            readonly inner: Readonly<{
                reason: string;
            }>;
            /**
             * @private
             * This field is private and should not be used, use `tag` instead.
             */
            readonly [uniffiTypeNameSymbol]: "RoomcastError";
            name: string;
            message: string;
            stack?: string;
        };
        "new"(inner: {
            reason: string;
        }): {
            readonly tag: RoomcastError_Tags.Kept;
            readonly inner: Readonly<{
                reason: string;
            }>;
            /**
             * @private
             * This field is private and should not be used, use `tag` instead.
             */
            readonly [uniffiTypeNameSymbol]: "RoomcastError";
            name: string;
            message: string;
            stack?: string;
        };
        instanceOf(obj: any): obj is {
            readonly tag: RoomcastError_Tags.Kept;
            readonly inner: Readonly<{
                reason: string;
            }>;
            /**
             * @private
             * This field is private and should not be used, use `tag` instead.
             */
            readonly [uniffiTypeNameSymbol]: "RoomcastError";
            name: string;
            message: string;
            stack?: string;
        };
        hasInner(obj: any): obj is {
            readonly tag: RoomcastError_Tags.Kept;
            readonly inner: Readonly<{
                reason: string;
            }>;
            /**
             * @private
             * This field is private and should not be used, use `tag` instead.
             */
            readonly [uniffiTypeNameSymbol]: "RoomcastError";
            name: string;
            message: string;
            stack?: string;
        };
        getInner(obj: {
            readonly tag: RoomcastError_Tags.Kept;
            readonly inner: Readonly<{
                reason: string;
            }>;
            /**
             * @private
             * This field is private and should not be used, use `tag` instead.
             */
            readonly [uniffiTypeNameSymbol]: "RoomcastError";
            name: string;
            message: string;
            stack?: string;
        }): Readonly<{
            reason: string;
        }>;
    };
}>;
/**
 * Why a Roomcast call failed.
 */
export type RoomcastError = InstanceType<typeof RoomcastError['InvalidConfig' | 'InvalidRoom' | 'InvalidPayload' | 'Unauthorized' | 'Forbidden' | 'NotJoined' | 'TooLarge' | 'TooManyRooms' | 'RateLimited' | 'QueueFull' | 'NotConnected' | 'ConnectionLost' | 'Timeout' | 'Closed' | 'GaveUp' | 'TokenProvider' | 'Server' | 'Protocol' | 'Storage' | 'StoreLocked' | 'Internal' | 'Kept']>;
/**
 * Connection state changes.
 */
export interface StateListener {
    onState(state: ConnectionState): void;
}
/**
 * Connection state changes.
 */
export declare class StateListenerImpl extends UniffiAbstractObject implements StateListener {
    readonly [uniffiTypeNameSymbol] = "StateListenerImpl";
    readonly [destructorGuardSymbol]: UniffiGcObject;
    readonly [pointerLiteralSymbol]: UniffiHandle;
    private constructor();
    onState(state: ConnectionState): void;
    uniffiDestroy(): void;
    static instanceOf(obj_: any): obj_ is StateListenerImpl;
}
/**
 * Keeps a listener registered. Dropping it (Swift: releasing the last reference) or calling
 * [`cancel`](Self::cancel) unregisters the listener and releases it, so keep it as long as
 * you want events.
 */
export interface SubscriptionLike {
    /**
     * Stops the listener now rather than when this object is released. Idempotent.
     */
    cancel(): void;
}
/**
 * @deprecated Use `SubscriptionLike` instead.
 */
export type SubscriptionInterface = SubscriptionLike;
/**
 * Keeps a listener registered. Dropping it (Swift: releasing the last reference) or calling
 * [`cancel`](Self::cancel) unregisters the listener and releases it, so keep it as long as
 * you want events.
 */
export declare class Subscription extends UniffiAbstractObject implements SubscriptionLike {
    readonly [uniffiTypeNameSymbol] = "Subscription";
    readonly [destructorGuardSymbol]: UniffiGcObject;
    readonly [pointerLiteralSymbol]: UniffiHandle;
    private constructor();
    /**
     * Stops the listener now rather than when this object is released. Idempotent.
     */
    cancel(): void;
    uniffiDestroy(): void;
    static instanceOf(obj_: any): obj_ is Subscription;
}
/**
 * Everything that happens in a joined room.
 */
export interface RoomListener {
    /**
     * A message from another connection (the publisher's own connection gets the ack
     * instead). Persisted messages arrive exactly once, in `seq` order, across reconnects.
     */
    onMessage(message: Message): void;
    onPresence(presence: PresenceEvent): void;
    /**
     * The room was joined: first, and again after every reconnect.
     */
    onJoined(info: JoinInfo): void;
    /**
     * Messages the server no longer has (a reset history, retention). A resume cut short by
     * the server's replay limit is completed from history instead and reports no gap.
     */
    onGap(gap: Gap): void;
    /**
     * The room is no longer joined: the server refused the automatic rejoin (for example
     * the refreshed token no longer allows it).
     */
    onError(error: RoomcastError): void;
    /**
     * The room's events ended: it was left or lost, or the client closed. Called once per
     * end, after every event before it; a later `join` starts them again.
     */
    onEnd(): void;
}
/**
 * Everything that happens in a joined room.
 */
export declare class RoomListenerImpl extends UniffiAbstractObject implements RoomListener {
    readonly [uniffiTypeNameSymbol] = "RoomListenerImpl";
    readonly [destructorGuardSymbol]: UniffiGcObject;
    readonly [pointerLiteralSymbol]: UniffiHandle;
    private constructor();
    /**
     * A message from another connection (the publisher's own connection gets the ack
     * instead). Persisted messages arrive exactly once, in `seq` order, across reconnects.
     */
    onMessage(message: Message): void;
    onPresence(presence: PresenceEvent): void;
    /**
     * The room was joined: first, and again after every reconnect.
     */
    onJoined(info: JoinInfo): void;
    /**
     * Messages the server no longer has (a reset history, retention). A resume cut short by
     * the server's replay limit is completed from history instead and reports no gap.
     */
    onGap(gap: Gap): void;
    /**
     * The room is no longer joined: the server refused the automatic rejoin (for example
     * the refreshed token no longer allows it).
     */
    onError(error: RoomcastError): void;
    /**
     * The room's events ended: it was left or lost, or the client closed. Called once per
     * end, after every event before it; a later `join` starts them again.
     */
    onEnd(): void;
    uniffiDestroy(): void;
    static instanceOf(obj_: any): obj_ is RoomListenerImpl;
}
/**
 * The pieces of a room's streamed messages (an assistant's reply growing word by word).
 */
export interface StreamListener {
    /**
     * The next piece of a stream, after its opening message (`Message.stream`) and earlier
     * pieces.
     */
    onAppend(piece: StreamPiece): void;
}
/**
 * The pieces of a room's streamed messages (an assistant's reply growing word by word).
 */
export declare class StreamListenerImpl extends UniffiAbstractObject implements StreamListener {
    readonly [uniffiTypeNameSymbol] = "StreamListenerImpl";
    readonly [destructorGuardSymbol]: UniffiGcObject;
    readonly [pointerLiteralSymbol]: UniffiHandle;
    private constructor();
    /**
     * The next piece of a stream, after its opening message (`Message.stream`) and earlier
     * pieces.
     */
    onAppend(piece: StreamPiece): void;
    uniffiDestroy(): void;
    static instanceOf(obj_: any): obj_ is StreamListenerImpl;
}
/**
 * Writes a streamed message opened with `Room::stream`. Each call queues its piece at once,
 * in call order (also offline); the returned result comes with the server's ack. After
 * `finish`, `fail` or `cancel`, further calls fail with `StreamEnded`.
 */
export interface StreamWriterLike {
    /**
     * Adds `text` to the stream.
     */
    append(text: string, asyncOpts_?: {
        signal: AbortSignal;
    }): Promise<PublishAck>;
    /**
     * Ends the stream as `cancelled` (the user stopped it).
     */
    cancel(asyncOpts_?: {
        signal: AbortSignal;
    }): Promise<PublishAck>;
    /**
     * Ends the stream as `failed` (the generator broke off).
     */
    fail(asyncOpts_?: {
        signal: AbortSignal;
    }): Promise<PublishAck>;
    /**
     * Ends the stream as complete (`done`).
     */
    finish(asyncOpts_?: {
        signal: AbortSignal;
    }): Promise<PublishAck>;
    /**
     * The stream's id (its opening message's), for readers' `Room::cancel_stream`.
     */
    id(): string;
    /**
     * The opening message's ack (its `seq`); the first call waits for it, later ones fail.
     */
    opened(asyncOpts_?: {
        signal: AbortSignal;
    }): Promise<PublishAck>;
}
/**
 * @deprecated Use `StreamWriterLike` instead.
 */
export type StreamWriterInterface = StreamWriterLike;
/**
 * Writes a streamed message opened with `Room::stream`. Each call queues its piece at once,
 * in call order (also offline); the returned result comes with the server's ack. After
 * `finish`, `fail` or `cancel`, further calls fail with `StreamEnded`.
 */
export declare class StreamWriter extends UniffiAbstractObject implements StreamWriterLike {
    readonly [uniffiTypeNameSymbol] = "StreamWriter";
    readonly [destructorGuardSymbol]: UniffiGcObject;
    readonly [pointerLiteralSymbol]: UniffiHandle;
    private constructor();
    /**
     * Adds `text` to the stream.
     */
    append(text: string, asyncOpts_?: {
        signal: AbortSignal;
    }): Promise<PublishAck>;
    /**
     * Ends the stream as `cancelled` (the user stopped it).
     */
    cancel(asyncOpts_?: {
        signal: AbortSignal;
    }): Promise<PublishAck>;
    /**
     * Ends the stream as `failed` (the generator broke off).
     */
    fail(asyncOpts_?: {
        signal: AbortSignal;
    }): Promise<PublishAck>;
    /**
     * Ends the stream as complete (`done`).
     */
    finish(asyncOpts_?: {
        signal: AbortSignal;
    }): Promise<PublishAck>;
    /**
     * The stream's id (its opening message's), for readers' `Room::cancel_stream`.
     */
    id(): string;
    /**
     * The opening message's ack (its `seq`); the first call waits for it, later ones fail.
     */
    opened(asyncOpts_?: {
        signal: AbortSignal;
    }): Promise<PublishAck>;
    uniffiDestroy(): void;
    static instanceOf(obj_: any): obj_ is StreamWriter;
}
/**
 * A room of a client, from `Client::room` (or joined at once by `Client::join`). Register
 * listeners with [`subscribe`](Self::subscribe), then [`join`](Self::join): listeners
 * registered before the join also see what a resume replays. Listeners stay registered until
 * their [`Subscription`] is cancelled or released, across leaves and later joins.
 */
export interface RoomLike {
    /**
     * Ends another member's stream `id` as cancelled (the server stores the end in this
     * member's name); returns the ack of the stream's final piece, also when it had ended.
     */
    cancelStream(id: string, asyncOpts_?: {
        signal: AbortSignal;
    }): Promise<PublishAck>;
    /**
     * Stored messages with `seq < before` (the newest without `before`), ascending; at most
     * `limit` (the server caps it at 500). On a client never connected it connects first;
     * offline it fails with `NotConnected`.
     */
    history(before: bigint | undefined, limit: number, asyncOpts_?: {
        signal: AbortSignal;
    }): Promise<HistoryPage>;
    /**
     * Joins the room, returning at the server's `joined`. After a reconnect it is rejoined
     * and resumed on its own, as `resume` says (default: every missed message, paged in past
     * the server's replay limit). Publishes made before the answer are queued for the room.
     */
    join(resume: ResumeMode | undefined, asyncOpts_?: {
        signal: AbortSignal;
    }): Promise<JoinInfo>;
    /**
     * Leaves the room: messages stop, queued publishes to it fail with `NotJoined`,
     * subscribed listeners get `on_end` (and stay registered for a later `join`), and the
     * listener given to `Client::join` is released.
     */
    leave(asyncOpts_?: {
        signal: AbortSignal;
    }): Promise<void>;
    name(): string;
    /**
     * Registers `listener` for the pieces of the room's streamed messages, until the
     * returned subscription is cancelled or released.
     */
    onAppend(listener: StreamListener): SubscriptionLike;
    /**
     * Publishes a persisted message (`data_json`: any JSON text) with a fresh UUID v7 id.
     * Queued while offline and re-sent after reconnects until acknowledged; returns the ack
     * with its `seq`. Publishes are queued in call order.
     */
    publish(event: string, dataJson: string, asyncOpts_?: {
        signal: AbortSignal;
    }): Promise<PublishAck>;
    /**
     * Publishes an ephemeral message (typing indicators, cursors): delivered to members
     * present now, not stored, never queued; fails with `NotConnected` when offline.
     */
    publishEphemeral(event: string, dataJson: string, asyncOpts_?: {
        signal: AbortSignal;
    }): Promise<void>;
    /**
     * Opens a streamed message (an assistant's reply): `data_json` is published as its
     * opening message, and its text grows with the writer's `append`. Readers see the opening
     * message with the text so far, then each piece once, in order, then the end, across
     * reconnects and restarts. Queued at once, like `publish`.
     */
    stream(event: string, dataJson: string): StreamWriterLike;
    /**
     * Registers `listener` for the room's events until the returned subscription is
     * cancelled or released. Listeners run on the SDK's background threads, one event at a
     * time per room, in order; `on_end` tells when the events end (left, lost, closed).
     */
    subscribe(listener: RoomListener): SubscriptionLike;
}
/**
 * @deprecated Use `RoomLike` instead.
 */
export type RoomInterface = RoomLike;
/**
 * A room of a client, from `Client::room` (or joined at once by `Client::join`). Register
 * listeners with [`subscribe`](Self::subscribe), then [`join`](Self::join): listeners
 * registered before the join also see what a resume replays. Listeners stay registered until
 * their [`Subscription`] is cancelled or released, across leaves and later joins.
 */
export declare class Room extends UniffiAbstractObject implements RoomLike {
    readonly [uniffiTypeNameSymbol] = "Room";
    readonly [destructorGuardSymbol]: UniffiGcObject;
    readonly [pointerLiteralSymbol]: UniffiHandle;
    private constructor();
    /**
     * Ends another member's stream `id` as cancelled (the server stores the end in this
     * member's name); returns the ack of the stream's final piece, also when it had ended.
     */
    cancelStream(id: string, asyncOpts_?: {
        signal: AbortSignal;
    }): Promise<PublishAck>;
    /**
     * Stored messages with `seq < before` (the newest without `before`), ascending; at most
     * `limit` (the server caps it at 500). On a client never connected it connects first;
     * offline it fails with `NotConnected`.
     */
    history(before?: bigint | undefined, limit?: number, asyncOpts_?: {
        signal: AbortSignal;
    }): Promise<HistoryPage>;
    /**
     * Joins the room, returning at the server's `joined`. After a reconnect it is rejoined
     * and resumed on its own, as `resume` says (default: every missed message, paged in past
     * the server's replay limit). Publishes made before the answer are queued for the room.
     */
    join(resume?: ResumeMode | undefined, asyncOpts_?: {
        signal: AbortSignal;
    }): Promise<JoinInfo>;
    /**
     * Leaves the room: messages stop, queued publishes to it fail with `NotJoined`,
     * subscribed listeners get `on_end` (and stay registered for a later `join`), and the
     * listener given to `Client::join` is released.
     */
    leave(asyncOpts_?: {
        signal: AbortSignal;
    }): Promise<void>;
    name(): string;
    /**
     * Registers `listener` for the pieces of the room's streamed messages, until the
     * returned subscription is cancelled or released.
     */
    onAppend(listener: StreamListener): SubscriptionLike;
    /**
     * Publishes a persisted message (`data_json`: any JSON text) with a fresh UUID v7 id.
     * Queued while offline and re-sent after reconnects until acknowledged; returns the ack
     * with its `seq`. Publishes are queued in call order.
     */
    publish(event: string, dataJson: string, asyncOpts_?: {
        signal: AbortSignal;
    }): Promise<PublishAck>;
    /**
     * Publishes an ephemeral message (typing indicators, cursors): delivered to members
     * present now, not stored, never queued; fails with `NotConnected` when offline.
     */
    publishEphemeral(event: string, dataJson: string, asyncOpts_?: {
        signal: AbortSignal;
    }): Promise<void>;
    /**
     * Opens a streamed message (an assistant's reply): `data_json` is published as its
     * opening message, and its text grows with the writer's `append`. Readers see the opening
     * message with the text so far, then each piece once, in order, then the end, across
     * reconnects and restarts. Queued at once, like `publish`.
     */
    stream(event: string, dataJson: string): StreamWriterLike;
    /**
     * Registers `listener` for the room's events until the returned subscription is
     * cancelled or released. Listeners run on the SDK's background threads, one event at a
     * time per room, in order; `on_end` tells when the events end (left, lost, closed).
     */
    subscribe(listener: RoomListener): SubscriptionLike;
    uniffiDestroy(): void;
    static instanceOf(obj_: any): obj_ is Room;
}
/**
 * A Roomcast connection. Reconnects, resumes rooms and re-sends queued publishes on its own;
 * it closes at [`close`](Self::close) or once this object and every [`Room`] are released.
 */
export interface ClientLike {
    /**
     * Calls `listener` with the current state at once, then with each change. States that
     * change faster than the listener runs are coalesced to the latest, like a UI needs.
     */
    addStateListener(listener: StateListener): SubscriptionLike;
    /**
     * Closes for good; queued publishes fail with `Closed` (with a store they stay in it, and
     * the next client opened on it sends them). Returns once the store has what it keeps.
     */
    close(asyncOpts_?: {
        signal: AbortSignal;
    }): Promise<void>;
    /**
     * Connects, returning at the first successful handshake. While the server is
     * unreachable it keeps retrying; it fails only when the token is refused for good
     * (`Unauthorized`) or the client is closed. Optional: the first `join`, persisted
     * `publish` or `history` connects by itself, and a `connect` made meanwhile returns at
     * that same handshake.
     */
    connect(asyncOpts_?: {
        signal: AbortSignal;
    }): Promise<void>;
    /**
     * Joins `room`, returning at the server's `joined` (`room(name)`, a listener and `join`
     * in one call). `listener` is registered before the join, so it also sees what a resume
     * replays; it stays registered until the room is
     * left or the returned [`Room`] is released. The room is rejoined after every reconnect,
     * resuming as `resume` says (default: every missed message, paged in past the server's
     * replay limit).
     */
    join(room: string, listener: RoomListener, resume: ResumeMode | undefined, asyncOpts_?: {
        signal: AbortSignal;
    }): Promise<RoomLike>;
    /**
     * Disconnects until `resume` (app backgrounded), keeping rooms and queued publishes.
     */
    pause(): void;
    /**
     * Persisted publishes not yet acknowledged, oldest first, those restored from the store
     * included: what a chat screen shows as "sending".
     */
    pending(asyncOpts_?: {
        signal: AbortSignal;
    }): Promise<Array<PendingPublish>>;
    /**
     * Persisted publishes not yet acknowledged by the server (the "N queued" badge).
     */
    queued(asyncOpts_?: {
        signal: AbortSignal;
    }): Promise<bigint>;
    /**
     * Skips the reconnect wait, e.g. when the OS reports the network back. While connected
     * it probes the connection instead: a ping, and a new connection unless some frame
     * arrives within 5 s (the app is back in the foreground, or the network changed).
     */
    reconnectNow(): void;
    /**
     * Reconnects after `pause`; rooms resume where they were.
     */
    resume(): void;
    /**
     * A room handle without joining it: `subscribe` listeners on it, then `join`. Every call
     * for the same name shares one room.
     */
    room(room: string): RoomLike;
    /**
     * Replaces the token (sent at once when connected); after `Unauthorized`, follow with
     * `reconnect_now`.
     */
    setToken(token: string): void;
    /**
     * The current connection state.
     */
    state(): ConnectionState;
    /**
     * The damage found when the store was opened, if any (a `Storage` error saying where the
     * damaged journal was kept aside): every whole record before and after it was kept.
     */
    storeDamage(): RoomcastError | undefined;
}
/**
 * @deprecated Use `ClientLike` instead.
 */
export type ClientInterface = ClientLike;
/**
 * A Roomcast connection. Reconnects, resumes rooms and re-sends queued publishes on its own;
 * it closes at [`close`](Self::close) or once this object and every [`Room`] are released.
 */
export declare class Client extends UniffiAbstractObject implements ClientLike {
    readonly [uniffiTypeNameSymbol] = "Client";
    readonly [destructorGuardSymbol]: UniffiGcObject;
    readonly [pointerLiteralSymbol]: UniffiHandle;
    /**
     * Validates `config` and starts the client's driver; nothing connects until `connect`.
     */
    constructor(config: ClientConfig, tokenProvider?: TokenProvider | undefined);
    /**
     * `new` with a token provider that is not optional. The React Native bindings
     * (uniffi-bindgen-react-native 0.31) cannot pass a JavaScript implementation of a
     * foreign trait inside an `Option`, so the React Native package builds its clients
     * with this constructor whenever it has a provider.
     */
    static withTokenProvider(config: ClientConfig, tokenProvider: TokenProvider): ClientLike;
    /**
     * Calls `listener` with the current state at once, then with each change. States that
     * change faster than the listener runs are coalesced to the latest, like a UI needs.
     */
    addStateListener(listener: StateListener): SubscriptionLike;
    /**
     * Closes for good; queued publishes fail with `Closed` (with a store they stay in it, and
     * the next client opened on it sends them). Returns once the store has what it keeps.
     */
    close(asyncOpts_?: {
        signal: AbortSignal;
    }): Promise<void>;
    /**
     * Connects, returning at the first successful handshake. While the server is
     * unreachable it keeps retrying; it fails only when the token is refused for good
     * (`Unauthorized`) or the client is closed. Optional: the first `join`, persisted
     * `publish` or `history` connects by itself, and a `connect` made meanwhile returns at
     * that same handshake.
     */
    connect(asyncOpts_?: {
        signal: AbortSignal;
    }): Promise<void>;
    /**
     * Joins `room`, returning at the server's `joined` (`room(name)`, a listener and `join`
     * in one call). `listener` is registered before the join, so it also sees what a resume
     * replays; it stays registered until the room is
     * left or the returned [`Room`] is released. The room is rejoined after every reconnect,
     * resuming as `resume` says (default: every missed message, paged in past the server's
     * replay limit).
     */
    join(room: string, listener: RoomListener, resume?: ResumeMode | undefined, asyncOpts_?: {
        signal: AbortSignal;
    }): Promise<RoomLike>;
    /**
     * Disconnects until `resume` (app backgrounded), keeping rooms and queued publishes.
     */
    pause(): void;
    /**
     * Persisted publishes not yet acknowledged, oldest first, those restored from the store
     * included: what a chat screen shows as "sending".
     */
    pending(asyncOpts_?: {
        signal: AbortSignal;
    }): Promise<Array<PendingPublish>>;
    /**
     * Persisted publishes not yet acknowledged by the server (the "N queued" badge).
     */
    queued(asyncOpts_?: {
        signal: AbortSignal;
    }): Promise<bigint>;
    /**
     * Skips the reconnect wait, e.g. when the OS reports the network back. While connected
     * it probes the connection instead: a ping, and a new connection unless some frame
     * arrives within 5 s (the app is back in the foreground, or the network changed).
     */
    reconnectNow(): void;
    /**
     * Reconnects after `pause`; rooms resume where they were.
     */
    resume(): void;
    /**
     * A room handle without joining it: `subscribe` listeners on it, then `join`. Every call
     * for the same name shares one room.
     */
    room(room: string): RoomLike;
    /**
     * Replaces the token (sent at once when connected); after `Unauthorized`, follow with
     * `reconnect_now`.
     */
    setToken(token: string): void;
    /**
     * The current connection state.
     */
    state(): ConnectionState;
    /**
     * The damage found when the store was opened, if any (a `Storage` error saying where the
     * damaged journal was kept aside): every whole record before and after it was kept.
     */
    storeDamage(): RoomcastError | undefined;
    uniffiDestroy(): void;
    static instanceOf(obj_: any): obj_ is Client;
}
/**
 * Receives the SDK's log records, on the SDK's log thread, one at a time and in order.
 */
export interface LogSink {
    log(record: LogRecord): void;
}
/**
 * Receives the SDK's log records, on the SDK's log thread, one at a time and in order.
 */
export declare class LogSinkImpl extends UniffiAbstractObject implements LogSink {
    readonly [uniffiTypeNameSymbol] = "LogSinkImpl";
    readonly [destructorGuardSymbol]: UniffiGcObject;
    readonly [pointerLiteralSymbol]: UniffiHandle;
    private constructor();
    log(record: LogRecord): void;
    uniffiDestroy(): void;
    static instanceOf(obj_: any): obj_ is LogSinkImpl;
}
/**
 * Supplies tokens on demand: before the first connection when the config has none, before
 * the current one expires, and after the server rejects one (close 4001).
 *
 * Return `None` when the user is signed out: the client stops in `Unauthorized`. Throwing
 * is a passing failure, retried with backoff.
 */
export interface TokenProvider {
    fetchToken(asyncOpts_?: {
        signal: AbortSignal;
    }): Promise<string | undefined>;
}
/**
 * Supplies tokens on demand: before the first connection when the config has none, before
 * the current one expires, and after the server rejects one (close 4001).
 *
 * Return `None` when the user is signed out: the client stops in `Unauthorized`. Throwing
 * is a passing failure, retried with backoff.
 */
export declare class TokenProviderImpl extends UniffiAbstractObject implements TokenProvider {
    readonly [uniffiTypeNameSymbol] = "TokenProviderImpl";
    readonly [destructorGuardSymbol]: UniffiGcObject;
    readonly [pointerLiteralSymbol]: UniffiHandle;
    private constructor();
    fetchToken(asyncOpts_?: {
        signal: AbortSignal;
    }): Promise<string | undefined>;
    uniffiDestroy(): void;
    static instanceOf(obj_: any): obj_ is TokenProviderImpl;
}
/**
 * This should be called before anything else.
 *
 * It is likely that this is being done for you by the library's `index.ts`.
 *
 * It checks versions of uniffi between when the Rust scaffolding was generated
 * and when the bindings were generated.
 *
 * It also initializes the machinery to enable Rust to talk back to Javascript.
 */
declare function uniffiEnsureInitialized(): void;
declare const _default: Readonly<{
    initialize: typeof uniffiEnsureInitialized;
    converters: {
        FfiConverterTypeClient: FfiConverterObject<ClientLike>;
        FfiConverterTypeClientConfig: {
            readFromCursor(c: Cursor): ClientConfig;
            writeIntoCursor(value: ClientConfig, c: Cursor): void;
            allocationSize(value: ClientConfig): number;
            lift(value: UniffiByteArray): ClientConfig;
            lower(value: ClientConfig, alloc: import("@ubjs/core").RustBufferAllocator): UniffiByteArray;
        };
        FfiConverterTypeConnectionPolicyState: {
            readFromCursor(c: Cursor): ConnectionPolicyState;
            writeIntoCursor(value: ConnectionPolicyState, c: Cursor): void;
            allocationSize(value: ConnectionPolicyState): number;
            lift(value: UniffiByteArray): ConnectionPolicyState;
            lower(value: ConnectionPolicyState, alloc: import("@ubjs/core").RustBufferAllocator): UniffiByteArray;
        };
        FfiConverterTypeConnectionState: {
            readFromCursor(c: Cursor): ConnectionState;
            writeIntoCursor(value: ConnectionState, c: Cursor): void;
            allocationSize(value: ConnectionState): number;
            lift(value: UniffiByteArray): ConnectionState;
            lower(value: ConnectionState, alloc: import("@ubjs/core").RustBufferAllocator): UniffiByteArray;
        };
        FfiConverterTypeGap: {
            readFromCursor(c: Cursor): Gap;
            writeIntoCursor(value: Gap, c: Cursor): void;
            allocationSize(value: Gap): number;
            lift(value: UniffiByteArray): Gap;
            lower(value: Gap, alloc: import("@ubjs/core").RustBufferAllocator): UniffiByteArray;
        };
        FfiConverterTypeHistoryPage: {
            readFromCursor(c: Cursor): HistoryPage;
            writeIntoCursor(value: HistoryPage, c: Cursor): void;
            allocationSize(value: HistoryPage): number;
            lift(value: UniffiByteArray): HistoryPage;
            lower(value: HistoryPage, alloc: import("@ubjs/core").RustBufferAllocator): UniffiByteArray;
        };
        FfiConverterTypeJoinInfo: {
            readFromCursor(c: Cursor): JoinInfo;
            writeIntoCursor(value: JoinInfo, c: Cursor): void;
            allocationSize(value: JoinInfo): number;
            lift(value: UniffiByteArray): JoinInfo;
            lower(value: JoinInfo, alloc: import("@ubjs/core").RustBufferAllocator): UniffiByteArray;
        };
        FfiConverterTypeLogLevel: {
            readFromCursor(c: Cursor): LogLevel;
            writeIntoCursor(value: LogLevel, c: Cursor): void;
            allocationSize(value: LogLevel): number;
            lift(value: UniffiByteArray): LogLevel;
            lower(value: LogLevel, alloc: import("@ubjs/core").RustBufferAllocator): UniffiByteArray;
        };
        FfiConverterTypeLogRecord: {
            readFromCursor(c: Cursor): LogRecord;
            writeIntoCursor(value: LogRecord, c: Cursor): void;
            allocationSize(value: LogRecord): number;
            lift(value: UniffiByteArray): LogRecord;
            lower(value: LogRecord, alloc: import("@ubjs/core").RustBufferAllocator): UniffiByteArray;
        };
        FfiConverterTypeLogSink: FfiConverterObjectWithCallbacks<LogSink>;
        FfiConverterTypeMember: {
            readFromCursor(c: Cursor): Member;
            writeIntoCursor(value: Member, c: Cursor): void;
            allocationSize(value: Member): number;
            lift(value: UniffiByteArray): Member;
            lower(value: Member, alloc: import("@ubjs/core").RustBufferAllocator): UniffiByteArray;
        };
        FfiConverterTypeMessage: {
            readFromCursor(c: Cursor): Message;
            writeIntoCursor(value: Message, c: Cursor): void;
            allocationSize(value: Message): number;
            lift(value: UniffiByteArray): Message;
            lower(value: Message, alloc: import("@ubjs/core").RustBufferAllocator): UniffiByteArray;
        };
        FfiConverterTypePendingPublish: {
            readFromCursor(c: Cursor): PendingPublish;
            writeIntoCursor(value: PendingPublish, c: Cursor): void;
            allocationSize(value: PendingPublish): number;
            lift(value: UniffiByteArray): PendingPublish;
            lower(value: PendingPublish, alloc: import("@ubjs/core").RustBufferAllocator): UniffiByteArray;
        };
        FfiConverterTypePolicyCommand: {
            readFromCursor(c: Cursor): PolicyCommand;
            writeIntoCursor(value: PolicyCommand, c: Cursor): void;
            allocationSize(value: PolicyCommand): number;
            lift(value: UniffiByteArray): PolicyCommand;
            lower(value: PolicyCommand, alloc: import("@ubjs/core").RustBufferAllocator): UniffiByteArray;
        };
        FfiConverterTypePolicyInput: {
            readFromCursor(c: Cursor): PolicyInput;
            writeIntoCursor(value: PolicyInput, c: Cursor): void;
            allocationSize(value: PolicyInput): number;
            lift(value: UniffiByteArray): PolicyInput;
            lower(value: PolicyInput, alloc: import("@ubjs/core").RustBufferAllocator): UniffiByteArray;
        };
        FfiConverterTypePolicyStep: {
            readFromCursor(c: Cursor): PolicyStep;
            writeIntoCursor(value: PolicyStep, c: Cursor): void;
            allocationSize(value: PolicyStep): number;
            lift(value: UniffiByteArray): PolicyStep;
            lower(value: PolicyStep, alloc: import("@ubjs/core").RustBufferAllocator): UniffiByteArray;
        };
        FfiConverterTypePresenceEvent: {
            readFromCursor(c: Cursor): PresenceEvent;
            writeIntoCursor(value: PresenceEvent, c: Cursor): void;
            allocationSize(value: PresenceEvent): number;
            lift(value: UniffiByteArray): PresenceEvent;
            lower(value: PresenceEvent, alloc: import("@ubjs/core").RustBufferAllocator): UniffiByteArray;
        };
        FfiConverterTypePresenceKind: {
            readFromCursor(c: Cursor): PresenceKind;
            writeIntoCursor(value: PresenceKind, c: Cursor): void;
            allocationSize(value: PresenceKind): number;
            lift(value: UniffiByteArray): PresenceKind;
            lower(value: PresenceKind, alloc: import("@ubjs/core").RustBufferAllocator): UniffiByteArray;
        };
        FfiConverterTypePublishAck: {
            readFromCursor(c: Cursor): PublishAck;
            writeIntoCursor(value: PublishAck, c: Cursor): void;
            allocationSize(value: PublishAck): number;
            lift(value: UniffiByteArray): PublishAck;
            lower(value: PublishAck, alloc: import("@ubjs/core").RustBufferAllocator): UniffiByteArray;
        };
        FfiConverterTypeResumeMode: {
            readFromCursor(c: Cursor): ResumeMode;
            writeIntoCursor(value: ResumeMode, c: Cursor): void;
            allocationSize(value: ResumeMode): number;
            lift(value: UniffiByteArray): ResumeMode;
            lower(value: ResumeMode, alloc: import("@ubjs/core").RustBufferAllocator): UniffiByteArray;
        };
        FfiConverterTypeRoom: FfiConverterObject<RoomLike>;
        FfiConverterTypeRoomListener: FfiConverterObjectWithCallbacks<RoomListener>;
        FfiConverterTypeRoomcastError: {
            readFromCursor(c: Cursor): RoomcastError;
            writeIntoCursor(value: RoomcastError, c: Cursor): void;
            allocationSize(value: RoomcastError): number;
            lift(value: UniffiByteArray): RoomcastError;
            lower(value: RoomcastError, alloc: import("@ubjs/core").RustBufferAllocator): UniffiByteArray;
        };
        FfiConverterTypeStateListener: FfiConverterObjectWithCallbacks<StateListener>;
        FfiConverterTypeStreamInfo: {
            readFromCursor(c: Cursor): StreamInfo;
            writeIntoCursor(value: StreamInfo, c: Cursor): void;
            allocationSize(value: StreamInfo): number;
            lift(value: UniffiByteArray): StreamInfo;
            lower(value: StreamInfo, alloc: import("@ubjs/core").RustBufferAllocator): UniffiByteArray;
        };
        FfiConverterTypeStreamListener: FfiConverterObjectWithCallbacks<StreamListener>;
        FfiConverterTypeStreamPiece: {
            readFromCursor(c: Cursor): StreamPiece;
            writeIntoCursor(value: StreamPiece, c: Cursor): void;
            allocationSize(value: StreamPiece): number;
            lift(value: UniffiByteArray): StreamPiece;
            lower(value: StreamPiece, alloc: import("@ubjs/core").RustBufferAllocator): UniffiByteArray;
        };
        FfiConverterTypeStreamState: {
            readFromCursor(c: Cursor): StreamState;
            writeIntoCursor(value: StreamState, c: Cursor): void;
            allocationSize(value: StreamState): number;
            lift(value: UniffiByteArray): StreamState;
            lower(value: StreamState, alloc: import("@ubjs/core").RustBufferAllocator): UniffiByteArray;
        };
        FfiConverterTypeStreamWriter: FfiConverterObject<StreamWriterLike>;
        FfiConverterTypeSubscription: FfiConverterObject<SubscriptionLike>;
        FfiConverterTypeTokenProvider: FfiConverterObjectWithCallbacks<TokenProvider>;
    };
}>;
export default _default;
