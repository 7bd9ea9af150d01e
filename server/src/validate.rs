//! Checks on values clients send, beyond what the frame types enforce.

use std::time::{SystemTime, UNIX_EPOCH};

/// Longest message id, in characters.
pub const MAX_ID_LEN: usize = 128;
/// Longest event name, in characters.
pub const MAX_EVENT_LEN: usize = 128;
/// Longest client id, source or name in `hello`, in characters.
pub const MAX_CLIENT_FIELD_LEN: usize = 128;
/// Deepest nesting of arrays and objects in a message's `data`. Well under serde_json's
/// recursion limit of 128, so every client can decode a payload into a tree even inside the
/// frame that carries it.
pub const MAX_DATA_DEPTH: usize = 64;

/// A room name: the protocol's rule (1 to 128 of `A-Z a-z 0-9 . _ : -`), and not `.` or `..`,
/// which a URL path (`/rooms/../messages`), a proxy or a file-per-room tool would read as a
/// directory step.
pub fn room(name: &str) -> Result<(), String> {
    roomcast_core::protocol::validate_room(name).map_err(|e| e.to_string())?;
    if name == "." || name == ".." {
        return Err(format!("room name {name:?} is reserved"));
    }
    Ok(())
}

/// A message id: non-empty, at most 128 characters, no control characters.
pub fn message_id(id: &str) -> Result<(), String> {
    if id.is_empty() {
        return Err("message id is empty".into());
    }
    if id.chars().count() > MAX_ID_LEN {
        return Err(format!("message id is longer than {MAX_ID_LEN} characters"));
    }
    if id.chars().any(char::is_control) {
        return Err("message id has control characters".into());
    }
    Ok(())
}

/// An event name: non-empty, at most 128 characters.
pub fn event(event: &str) -> Result<(), String> {
    if event.is_empty() {
        return Err("event is empty".into());
    }
    if event.chars().count() > MAX_EVENT_LEN {
        return Err(format!("event is longer than {MAX_EVENT_LEN} characters"));
    }
    Ok(())
}

/// A field of `hello`'s `client`: at most 128 characters.
pub fn client_field(what: &str, value: &str) -> Result<(), String> {
    if value.chars().count() > MAX_CLIENT_FIELD_LEN {
        return Err(format!(
            "client {what} is longer than {MAX_CLIENT_FIELD_LEN} characters"
        ));
    }
    Ok(())
}

/// How deeply arrays and objects nest in the JSON text `json` (`1` is 0, `[]` is 1). A linear
/// scan that counts brackets outside strings: no recursion, so any input is safe to measure.
/// `json` is assumed to be valid JSON; for other text the result is just some number.
pub fn json_depth(json: &str) -> usize {
    let mut depth = 0usize;
    let mut deepest = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    for &b in json.as_bytes() {
        if in_string {
            match b {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    deepest
}

/// A message's `data`: nested at most [`MAX_DATA_DEPTH`] levels.
pub fn data_depth(json: &str) -> Result<(), String> {
    let depth = json_depth(json);
    if depth > MAX_DATA_DEPTH {
        return Err(format!(
            "data nests {depth} levels deep, more than {MAX_DATA_DEPTH}"
        ));
    }
    Ok(())
}

/// Now, in Unix milliseconds.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// Now, in Unix seconds.
pub fn now_s() -> u64 {
    now_ms() / 1000
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids() {
        assert!(message_id("0193-abc").is_ok());
        assert!(message_id("").is_err());
        assert!(message_id(&"x".repeat(129)).is_err());
        assert!(message_id(&"x".repeat(128)).is_ok());
        assert!(message_id("a\nb").is_err());
        assert!(event("chat.message").is_ok());
        assert!(event("").is_err());
        assert!(room("conv-1.a").is_ok());
        assert!(room("...").is_ok());
        assert!(room(".").is_err());
        assert!(room("..").is_err());
        assert!(room("a b").is_err());
    }

    #[test]
    fn depth() {
        assert_eq!(json_depth("1"), 0);
        assert_eq!(json_depth("[]"), 1);
        assert_eq!(json_depth(r#"{"a":[1,{"b":[]}],"c":{}}"#), 4);
        assert_eq!(json_depth(r#"["[[[{{{", "\\\"[["]"#), 1);
        let deep = |n: usize| format!("{}{}", "[".repeat(n), "]".repeat(n));
        assert!(data_depth(&deep(MAX_DATA_DEPTH)).is_ok());
        assert!(data_depth(&deep(MAX_DATA_DEPTH + 1)).is_err());
        assert_eq!(json_depth(&deep(100_000)), 100_000);
    }
}
