//! The JSON the protocol needs, and no more: a strict reader that validates and skips values
//! and reads the few scalar types frames hold, and a writer for objects.
//!
//! Frames are a small fixed set and payloads travel as JSON text that is only checked, never
//! built into a tree, so a general JSON library (and its share of a browser bundle) is not
//! needed on the client path. The reader accepts exactly what serde_json accepts and the writer
//! writes what serde_json writes; `tests/codec_differential.rs` holds them to that.

mod read;
mod write;

pub use read::{validate, JsonError, JsonErrorKind, Reader};
pub use write::{push_str, push_u64, str_len, Array, Object};
