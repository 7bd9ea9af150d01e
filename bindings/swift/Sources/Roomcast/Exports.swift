// The generated API (Client, Room, ClientConfig, ConnectionState, RoomcastError, ...) is
// part of this module's API, so apps only `import Roomcast`.
@_exported import RoomcastFFI
