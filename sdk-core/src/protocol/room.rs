//! Room names and the `rooms` claim patterns that limit them.

use std::fmt;

/// Longest room name, in characters.
pub const MAX_ROOM_LEN: usize = 128;

/// Why a room name was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RoomNameError {
    Empty,
    TooLong,
    BadChar(char),
}

impl RoomNameError {
    /// The error in words, built without `core::fmt`.
    pub fn message(&self) -> String {
        match self {
            RoomNameError::Empty => "room name is empty".into(),
            RoomNameError::TooLong => "room name is longer than 128 characters".into(),
            RoomNameError::BadChar(c) => {
                let mut s = String::from("room name has the character '");
                if c.is_control() {
                    s.extend(c.escape_unicode());
                } else {
                    s.push(*c);
                }
                s.push_str("'; allowed are A-Z a-z 0-9 . _ : -");
                s
            }
        }
    }
}

impl fmt::Display for RoomNameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message())
    }
}

impl std::error::Error for RoomNameError {}

/// Checks a room name: 1 to 128 characters of `A-Z a-z 0-9 . _ : -`.
pub fn validate_room(name: &str) -> Result<(), RoomNameError> {
    if name.is_empty() {
        return Err(RoomNameError::Empty);
    }
    if name.len() > MAX_ROOM_LEN {
        return Err(RoomNameError::TooLong);
    }
    match name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | ':' | '-')))
    {
        Some(c) => Err(RoomNameError::BadChar(c)),
        None => Ok(()),
    }
}

/// Whether `room` matches a `rooms` claim pattern, where `*` matches any run of characters
/// (including none) and every other character matches itself.
pub fn room_matches(pattern: &str, room: &str) -> bool {
    // Iterative glob with single-star backtracking: linear in practice, no recursion to blow
    // the stack on hostile patterns.
    let (p, r) = (pattern.as_bytes(), room.as_bytes());
    let (mut pi, mut ri) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ri < r.len() {
        if pi < p.len() && p[pi] == b'*' {
            star = Some((pi, ri));
            pi += 1;
        } else if pi < p.len() && p[pi] == r[ri] {
            pi += 1;
            ri += 1;
        } else if let Some((sp, sr)) = star {
            pi = sp + 1;
            ri = sr + 1;
            star = Some((sp, sr + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&b| b == b'*')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert!(validate_room("conv-123").is_ok());
        assert!(validate_room("org.team:job_7").is_ok());
        assert_eq!(validate_room(""), Err(RoomNameError::Empty));
        assert_eq!(validate_room(&"a".repeat(129)), Err(RoomNameError::TooLong));
        assert!(validate_room(&"a".repeat(128)).is_ok());
        assert_eq!(validate_room("a b"), Err(RoomNameError::BadChar(' ')));
        assert_eq!(validate_room("é"), Err(RoomNameError::BadChar('é')));
        assert_eq!(
            RoomNameError::BadChar('\n').to_string(),
            "room name has the character '\\u{a}'; allowed are A-Z a-z 0-9 . _ : -"
        );
        assert_eq!(
            RoomNameError::TooLong.to_string(),
            format!("room name is longer than {MAX_ROOM_LEN} characters")
        );
    }

    #[test]
    fn patterns() {
        assert!(room_matches("*", "anything"));
        assert!(room_matches("conv-*", "conv-1"));
        assert!(room_matches("conv-*", "conv-"));
        assert!(!room_matches("conv-*", "job-1"));
        assert!(room_matches("a*b*c", "axxbyyc"));
        assert!(!room_matches("a*b*c", "axxbyy"));
        assert!(room_matches("exact", "exact"));
        assert!(!room_matches("exact", "exactly"));
        assert!(room_matches("*-log", "job-7-log"));
        assert!(!room_matches("", "x"));
    }
}
