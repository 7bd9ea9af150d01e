//! A strict JSON reader over text: values are validated and skipped, or read as the few types
//! frames hold (strings, unsigned integers, booleans, null).
//!
//! It accepts exactly what serde_json accepts, so frames and payloads decode the same as they
//! always have: RFC 8259 syntax, whitespace limited to space, tab, CR and LF, no trailing
//! commas. Strings read as strings must pair their `\u` surrogates; strings that are only
//! skipped (payloads, unknown fields) need four hex digits per `\u`, like serde_json's raw
//! values. Skipping is iterative, so no nesting depth can exhaust the stack: the open
//! containers are one byte each on the heap, bounded by the text's length.

use std::borrow::Cow;
use std::fmt;

use super::write::push_u64;

/// What is wrong with the text, and where.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JsonError {
    pub kind: JsonErrorKind,
    /// Byte offset in the text where the problem was found.
    pub offset: usize,
}

/// The ways text can fail to be the JSON expected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JsonErrorKind {
    /// The text ends in the middle of a value.
    Eof,
    ExpectedValue,
    ExpectedColon,
    ExpectedCommaOrEnd,
    /// Object keys are strings.
    ExpectedKey,
    InvalidNumber,
    InvalidLiteral,
    InvalidEscape,
    /// A `\u` surrogate without its other half, in a string read as text.
    LoneSurrogate,
    /// A raw control character (below U+0020) in a string.
    ControlCharacter,
    /// Something other than whitespace after the value.
    TrailingCharacters,
}

impl JsonErrorKind {
    /// What went wrong, in words.
    pub fn reason(self) -> &'static str {
        match self {
            JsonErrorKind::Eof => "unexpected end of text",
            JsonErrorKind::ExpectedValue => "expected a value",
            JsonErrorKind::ExpectedColon => "expected ':'",
            JsonErrorKind::ExpectedCommaOrEnd => "expected ',' or the end of the container",
            JsonErrorKind::ExpectedKey => "expected a string key",
            JsonErrorKind::InvalidNumber => "invalid number",
            JsonErrorKind::InvalidLiteral => "invalid literal",
            JsonErrorKind::InvalidEscape => "invalid escape",
            JsonErrorKind::LoneSurrogate => "unpaired surrogate in a \\u escape",
            JsonErrorKind::ControlCharacter => "control character in a string",
            JsonErrorKind::TrailingCharacters => "trailing characters after the value",
        }
    }
}

impl JsonError {
    /// `<reason> at byte <offset>`, built without `core::fmt`.
    pub fn message(&self) -> String {
        let mut s = String::from(self.kind.reason());
        s.push_str(" at byte ");
        push_u64(&mut s, self.offset as u64);
        s
    }
}

impl fmt::Display for JsonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message())
    }
}

impl std::error::Error for JsonError {}

/// Checks that `text` is exactly one JSON value, surrounding whitespace allowed; returns the
/// byte range of the value itself.
pub fn validate(text: &str) -> Result<std::ops::Range<usize>, JsonError> {
    let mut r = Reader::new(text);
    r.ws();
    let start = r.pos;
    r.skip()?;
    let end = r.pos;
    r.end()?;
    Ok(start..end)
}

/// A cursor over JSON text. Public so the wasm driver reads its store snapshot with the
/// same reader as frames, adding no second JSON parser to the module.
#[derive(Clone)]
pub struct Reader<'a> {
    text: &'a str,
    pos: usize,
    /// Set when an object's first member was read by the caller and the next object read
    /// continues that object (a frame's body after its leading `type`).
    pub(crate) continued: bool,
}

impl<'a> Reader<'a> {
    pub fn new(text: &'a str) -> Self {
        Self {
            text,
            pos: 0,
            continued: false,
        }
    }

    pub(crate) fn err(&self, kind: JsonErrorKind) -> JsonError {
        JsonError {
            kind,
            offset: self.pos,
        }
    }

    fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.pos).copied()
    }

    /// Skips whitespace and returns the next byte, if any.
    pub fn peek_value(&mut self) -> Option<u8> {
        self.ws();
        self.peek()
    }

    fn ws(&mut self) {
        while let Some(b' ' | b'\n' | b'\r' | b'\t') = self.peek() {
            self.pos += 1;
        }
    }

    /// Only whitespace may follow.
    pub fn end(&mut self) -> Result<(), JsonError> {
        self.ws();
        match self.peek() {
            None => Ok(()),
            Some(_) => Err(self.err(JsonErrorKind::TrailingCharacters)),
        }
    }

    /// Consumes `byte` after whitespace, or fails with `kind`.
    fn expect(&mut self, byte: u8, kind: JsonErrorKind) -> Result<(), JsonError> {
        self.ws();
        match self.peek() {
            Some(b) if b == byte => {
                self.pos += 1;
                Ok(())
            }
            None => Err(self.err(JsonErrorKind::Eof)),
            Some(_) => Err(self.err(kind)),
        }
    }

    /// Enters an object. The next value must start with `{`.
    pub fn open_object(&mut self) -> Result<bool, JsonError> {
        match self.peek_value() {
            Some(b'{') => {
                self.pos += 1;
                Ok(true)
            }
            Some(_) => Ok(false),
            None => Err(self.err(JsonErrorKind::Eof)),
        }
    }

    /// Moves to the next key of an object: true with the reader on the key's opening quote,
    /// false past the closing `}`. `first` is true right after `{`.
    pub fn next_key(&mut self, first: bool) -> Result<bool, JsonError> {
        self.ws();
        match self.peek() {
            Some(b'}') => {
                self.pos += 1;
                return Ok(false);
            }
            Some(b',') if !first => {
                self.pos += 1;
                self.ws();
            }
            None => return Err(self.err(JsonErrorKind::Eof)),
            Some(_) if !first => return Err(self.err(JsonErrorKind::ExpectedCommaOrEnd)),
            Some(_) => {}
        }
        match self.peek() {
            Some(b'"') => Ok(true),
            None => Err(self.err(JsonErrorKind::Eof)),
            Some(_) => Err(self.err(JsonErrorKind::ExpectedKey)),
        }
    }

    /// Reads an object key as text (surrogates checked) and its colon.
    pub fn key(&mut self) -> Result<Cow<'a, str>, JsonError> {
        let key = self.string()?;
        self.expect(b':', JsonErrorKind::ExpectedColon)?;
        Ok(key)
    }

    /// Enters an array: true when the next value starts with `[`.
    pub fn open_array(&mut self) -> Result<bool, JsonError> {
        match self.peek_value() {
            Some(b'[') => {
                self.pos += 1;
                Ok(true)
            }
            Some(_) => Ok(false),
            None => Err(self.err(JsonErrorKind::Eof)),
        }
    }

    /// Moves to the next element of an array: true when there is one, false past the `]`.
    pub fn next_element(&mut self, first: bool) -> Result<bool, JsonError> {
        self.ws();
        match self.peek() {
            Some(b']') => {
                self.pos += 1;
                Ok(false)
            }
            Some(b',') if !first => {
                self.pos += 1;
                Ok(true)
            }
            None => Err(self.err(JsonErrorKind::Eof)),
            Some(_) if first => Ok(true),
            Some(_) => Err(self.err(JsonErrorKind::ExpectedCommaOrEnd)),
        }
    }

    /// Skips one value, validating it; returns its text (without surrounding whitespace).
    pub fn skip(&mut self) -> Result<&'a str, JsonError> {
        // Open containers, innermost last: b'{' or b'['.
        let mut open: Vec<u8> = Vec::new();
        self.ws();
        let start = self.pos;
        'value: loop {
            match self.peek_value() {
                Some(b'{') => {
                    self.pos += 1;
                    if self.next_key(true)? {
                        open.push(b'{');
                        self.skip_key()?;
                        continue 'value;
                    }
                }
                Some(b'[') => {
                    self.pos += 1;
                    if self.next_element(true)? {
                        open.push(b'[');
                        continue 'value;
                    }
                }
                Some(b'"') => self.skip_string()?,
                Some(b'-' | b'0'..=b'9') => self.number()?,
                Some(b't') => self.literal("true")?,
                Some(b'f') => self.literal("false")?,
                Some(b'n') => self.literal("null")?,
                Some(_) => return Err(self.err(JsonErrorKind::ExpectedValue)),
                None => return Err(self.err(JsonErrorKind::Eof)),
            }
            // A value ended: go on to the next member or element, or close containers.
            while let Some(&kind) = open.last() {
                let more = if kind == b'{' {
                    self.next_key(false)?
                } else {
                    self.next_element(false)?
                };
                if more {
                    if kind == b'{' {
                        self.skip_key()?;
                    }
                    continue 'value;
                }
                open.pop();
            }
            return Ok(&self.text[start..self.pos]);
        }
    }

    /// A key inside a skipped value: checked like any skipped string.
    fn skip_key(&mut self) -> Result<(), JsonError> {
        self.skip_string()?;
        self.expect(b':', JsonErrorKind::ExpectedColon)
    }

    fn literal(&mut self, word: &str) -> Result<(), JsonError> {
        if self.text.as_bytes()[self.pos..].starts_with(word.as_bytes()) {
            self.pos += word.len();
            Ok(())
        } else if self.text.len() - self.pos < word.len()
            && word
                .as_bytes()
                .starts_with(&self.text.as_bytes()[self.pos..])
        {
            Err(JsonError {
                kind: JsonErrorKind::Eof,
                offset: self.text.len(),
            })
        } else {
            Err(self.err(JsonErrorKind::InvalidLiteral))
        }
    }

    fn digits(&mut self) -> usize {
        let start = self.pos;
        while let Some(b'0'..=b'9') = self.peek() {
            self.pos += 1;
        }
        self.pos - start
    }

    /// `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`
    fn number(&mut self) -> Result<(), JsonError> {
        if self.peek() == Some(b'-') {
            self.pos += 1;
        }
        match self.peek() {
            Some(b'0') => {
                self.pos += 1;
                if let Some(b'0'..=b'9') = self.peek() {
                    return Err(self.err(JsonErrorKind::InvalidNumber));
                }
            }
            Some(b'1'..=b'9') => {
                self.digits();
            }
            None => return Err(self.err(JsonErrorKind::Eof)),
            Some(_) => return Err(self.err(JsonErrorKind::InvalidNumber)),
        }
        if self.peek() == Some(b'.') {
            self.pos += 1;
            if self.digits() == 0 {
                return Err(self.number_end_error());
            }
        }
        if let Some(b'e' | b'E') = self.peek() {
            self.pos += 1;
            if let Some(b'+' | b'-') = self.peek() {
                self.pos += 1;
            }
            if self.digits() == 0 {
                return Err(self.number_end_error());
            }
        }
        Ok(())
    }

    fn number_end_error(&self) -> JsonError {
        match self.peek() {
            None => self.err(JsonErrorKind::Eof),
            Some(_) => self.err(JsonErrorKind::InvalidNumber),
        }
    }

    /// Scans a string from its opening quote. `on_escape` sees each escape (the reader just past
    /// its backslash) and consumes it. Returns the text between the quotes, raw.
    fn scan_string(
        &mut self,
        mut on_escape: impl FnMut(&mut Self) -> Result<(), JsonError>,
    ) -> Result<&'a str, JsonError> {
        self.pos += 1; // the opening quote
        let start = self.pos;
        loop {
            // Plain characters in one tight loop; only a quote, a backslash, a control
            // character or the end stops it.
            let rest = self.text.as_bytes().get(self.pos..).unwrap_or_default();
            self.pos += rest
                .iter()
                .position(|&b| b == b'"' || b == b'\\' || b < 0x20)
                .unwrap_or(rest.len());
            match self.peek() {
                Some(b'"') => {
                    let raw = &self.text[start..self.pos];
                    self.pos += 1;
                    return Ok(raw);
                }
                Some(b'\\') => {
                    self.pos += 1;
                    on_escape(self)?;
                }
                Some(0..=0x1f) => return Err(self.err(JsonErrorKind::ControlCharacter)),
                Some(_) => self.pos += 1,
                None => return Err(self.err(JsonErrorKind::Eof)),
            }
        }
    }

    /// A string that is only validated: any four hex digits make a `\u` escape.
    fn skip_string(&mut self) -> Result<(), JsonError> {
        self.scan_string(|r| match r.escape_char()? {
            b'u' => r.hex4().map(drop),
            _ => Ok(()),
        })
        .map(drop)
    }

    /// Consumes the character after a backslash; returns it.
    fn escape_char(&mut self) -> Result<u8, JsonError> {
        match self.peek() {
            Some(c @ (b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' | b'u')) => {
                self.pos += 1;
                Ok(c)
            }
            None => Err(self.err(JsonErrorKind::Eof)),
            Some(_) => Err(self.err(JsonErrorKind::InvalidEscape)),
        }
    }

    fn hex4(&mut self) -> Result<u16, JsonError> {
        let mut n: u16 = 0;
        for _ in 0..4 {
            let digit = match self.peek() {
                Some(c @ b'0'..=b'9') => c - b'0',
                Some(c @ b'a'..=b'f') => c - b'a' + 10,
                Some(c @ b'A'..=b'F') => c - b'A' + 10,
                None => return Err(self.err(JsonErrorKind::Eof)),
                Some(_) => return Err(self.err(JsonErrorKind::InvalidEscape)),
            };
            self.pos += 1;
            n = n << 4 | u16::from(digit);
        }
        Ok(n)
    }

    /// Reads a string as text, unescaped; borrowed when it has no escapes.
    pub fn string(&mut self) -> Result<Cow<'a, str>, JsonError> {
        if self.peek_value() != Some(b'"') {
            return Err(match self.peek() {
                None => self.err(JsonErrorKind::Eof),
                Some(_) => self.err(JsonErrorKind::ExpectedValue),
            });
        }
        let mut escaped = false;
        let raw = self.scan_string(|r| {
            escaped = true;
            match r.escape_char()? {
                b'u' => r.code_point().map(drop),
                _ => Ok(()),
            }
        })?;
        if !escaped {
            return Ok(Cow::Borrowed(raw));
        }
        Ok(Cow::Owned(unescape(raw)))
    }

    /// A `\u` escape read as text (the reader just past the `u`): a character, or a surrogate
    /// pair written as two escapes.
    fn code_point(&mut self) -> Result<char, JsonError> {
        let n = self.hex4()?;
        let lone = |r: &Self| r.err(JsonErrorKind::LoneSurrogate);
        match n {
            0xDC00..=0xDFFF => Err(lone(self)),
            0xD800..=0xDBFF => {
                if self.peek() != Some(b'\\') {
                    return Err(match self.peek() {
                        None => self.err(JsonErrorKind::Eof),
                        Some(_) => lone(self),
                    });
                }
                self.pos += 1;
                if self.peek() != Some(b'u') {
                    return Err(match self.peek() {
                        None => self.err(JsonErrorKind::Eof),
                        Some(_) => lone(self),
                    });
                }
                self.pos += 1;
                let low = self.hex4()?;
                if !(0xDC00..=0xDFFF).contains(&low) {
                    return Err(lone(self));
                }
                let c = 0x1_0000 + ((u32::from(n) - 0xD800) << 10 | (u32::from(low) - 0xDC00));
                char::from_u32(c).ok_or_else(|| lone(self))
            }
            _ => char::from_u32(u32::from(n)).ok_or_else(|| lone(self)),
        }
    }

    /// Reads an unsigned integer that fits `u64`; `None` for any other value (a valid one,
    /// skipped: the caller reports the wrong type).
    pub fn u64(&mut self) -> Result<Option<u64>, JsonError> {
        let start = match self.peek_value() {
            Some(b'0'..=b'9') => self.pos,
            _ => {
                self.skip()?;
                return Ok(None);
            }
        };
        self.number()?;
        let digits = &self.text.as_bytes()[start..self.pos];
        let mut n: u64 = 0;
        for &d in digits {
            if !d.is_ascii_digit() {
                return Ok(None); // a fraction or an exponent
            }
            match n
                .checked_mul(10)
                .and_then(|n| n.checked_add(u64::from(d - b'0')))
            {
                Some(next) => n = next,
                None => return Ok(None),
            }
        }
        Ok(Some(n))
    }

    /// Reads `true` or `false`; `None` for any other value.
    pub(crate) fn bool(&mut self) -> Result<Option<bool>, JsonError> {
        match self.peek_value() {
            Some(b't') => self.literal("true").map(|()| Some(true)),
            Some(b'f') => self.literal("false").map(|()| Some(false)),
            _ => self.skip().map(|_| None),
        }
    }

    /// Consumes `null` when it comes next.
    pub fn null(&mut self) -> Result<bool, JsonError> {
        if self.peek_value() == Some(b'n') {
            self.literal("null")?;
            return Ok(true);
        }
        Ok(false)
    }
}

/// The text of a string whose escapes were already checked by [`Reader::string`].
fn unescape(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut r = Reader::new(raw);
    let mut plain = 0;
    while let Some(i) = raw[plain..].find('\\').map(|i| plain + i) {
        out.push_str(&raw[plain..i]);
        r.pos = i + 1;
        let c = match r.escape_char() {
            Ok(b'u') => r.code_point().unwrap_or(char::REPLACEMENT_CHARACTER),
            Ok(b'b') => '\u{8}',
            Ok(b'f') => '\u{c}',
            Ok(b'n') => '\n',
            Ok(b'r') => '\r',
            Ok(b't') => '\t',
            Ok(c) => char::from(c),
            Err(_) => char::REPLACEMENT_CHARACTER,
        };
        out.push(c);
        plain = r.pos;
    }
    out.push_str(&raw[plain..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(text: &str) -> bool {
        validate(text).is_ok()
    }

    #[test]
    fn validates_like_rfc_8259() {
        for good in [
            "0",
            "-0",
            "1.5e-3",
            "1E+9",
            "123456789012345678901234567890",
            "\"\"",
            "true",
            "null",
            " [ ] ",
            "{}",
            r#"{"a":[1,{"b":null}],"c":"\u00e9\ud83d\ude00"}"#,
            r#""\ud800""#,
            r#""\/\b\f\n\r\t\\\"""#,
            "\t\r\n 7 \n",
        ] {
            assert!(ok(good), "{good}");
        }
        for bad in [
            "",
            " ",
            "01",
            "-",
            "1.",
            ".5",
            "1e",
            "+1",
            "tru",
            "nul",
            "[1,]",
            "{\"a\":1,}",
            "{,}",
            "[,]",
            "{\"a\"}",
            "{\"a\" 1}",
            "{1:2}",
            "\"\\x\"",
            "\"\\u12g4\"",
            "\"a",
            "\"\u{1}\"",
            "[1 2]",
            "1 2",
            "[",
            "{",
            "{\"a\":",
            "\u{a0}1",
            "NaN",
            "'a'",
        ] {
            assert!(!ok(bad), "{bad:?}");
        }
        assert_eq!(validate(" [1] "), Ok(1..4));
    }

    #[test]
    fn deep_nesting_is_skipped_without_recursion() {
        let deep = "[".repeat(100_000) + &"]".repeat(100_000);
        assert!(ok(&deep));
        let unclosed = "{\"a\":".repeat(50_000) + "1";
        assert_eq!(
            validate(&unclosed).map_err(|e| e.kind),
            Err(JsonErrorKind::Eof)
        );
    }

    #[test]
    fn strings_read_as_text_pair_their_surrogates() {
        let read = |t: &str| Reader::new(t).string().map(Cow::into_owned);
        assert_eq!(read(r#""a\u00e9\n\"""#).as_deref(), Ok("aé\n\""));
        assert_eq!(read(r#""\ud83d\ude00x""#).as_deref(), Ok("😀x"));
        assert_eq!(read("\"é😀\"").as_deref(), Ok("é😀"));
        for lone in [
            r#""\ud800""#,
            r#""\udc00""#,
            r#""\ud800\n""#,
            r#""\ud800\u0041""#,
        ] {
            assert_eq!(
                read(lone).map_err(|e| e.kind),
                Err(JsonErrorKind::LoneSurrogate),
                "{lone}"
            );
        }
    }

    #[test]
    fn unsigned_integers() {
        let read = |t: &str| Reader::new(t).u64();
        assert_eq!(read("0"), Ok(Some(0)));
        assert_eq!(read("18446744073709551615"), Ok(Some(u64::MAX)));
        assert_eq!(read("18446744073709551616"), Ok(None));
        for other in ["-1", "-0", "1.0", "1e2", "\"1\"", "null", "[1]"] {
            assert_eq!(read(other), Ok(None), "{other}");
        }
        assert!(read("01").is_err());
    }

    #[test]
    fn errors_say_where() {
        let e = validate("[1,]").unwrap_err();
        assert_eq!(e.kind, JsonErrorKind::ExpectedValue);
        assert_eq!(e.to_string(), "expected a value at byte 3");
    }
}
