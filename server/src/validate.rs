//! Checks on values clients send, beyond what the frame types enforce.

use std::time::{SystemTime, UNIX_EPOCH};

/// Longest message id, in characters.
pub const MAX_ID_LEN: usize = 128;
/// Longest event name, in characters.
pub const MAX_EVENT_LEN: usize = 128;
/// Longest client id, source or name in `hello`, in characters.
pub const MAX_CLIENT_FIELD_LEN: usize = 128;

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
    }
}
