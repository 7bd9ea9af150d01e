//! Writing JSON objects field by field, byte for byte as serde_json writes them: no
//! whitespace, strings escaped the same way, integers in decimal.
//!
//! Keys are the protocol's own names (plain ASCII), so they are written as they are.

/// Appends `n` in decimal, without `core::fmt`.
pub fn push_u64(out: &mut String, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    for &d in &digits[i..] {
        out.push(char::from(d));
    }
}

/// The length of `s` written by [`push_str`], quotes included, without writing it.
pub fn str_len(s: &str) -> usize {
    2 + s
        .bytes()
        .map(|b| match b {
            b'"' | b'\\' | b'\n' | b'\r' | b'\t' | 0x08 | 0x0c => 2,
            0..=0x1f => 6,
            _ => 1,
        })
        .sum::<usize>()
}

/// Appends `s` as a JSON string: `"` and `\` escaped, control characters as `\b \f \n \r \t`
/// or `\u00XX`, everything else (non-ASCII included) as it is.
pub fn push_str(out: &mut String, s: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push('"');
    let bytes = s.as_bytes();
    let mut plain = 0;
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if let Some(word) = bytes
            .get(i..i + 8)
            .and_then(|w| <[u8; 8]>::try_from(w).ok())
        {
            if !needs_escape(u64::from_le_bytes(word)) {
                i += 8;
                continue;
            }
        }
        i += 1;
        let escape = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0x08 => "\\b",
            0x0c => "\\f",
            0..=0x1f => "",
            _ => continue,
        };
        out.push_str(&s[plain..i - 1]);
        plain = i;
        if escape.is_empty() {
            out.push_str("\\u00");
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 0xf)]));
        } else {
            out.push_str(escape);
        }
    }
    out.push_str(&s[plain..]);
    out.push('"');
}

/// Whether any of the eight bytes in `w` needs escaping in a JSON string: a control character,
/// `"` or `\\`. Strings are mostly plain, so [`push_str`] skips them a word at a time.
fn needs_escape(w: u64) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    // A byte below `n` (n <= 0x80) sets its high bit in `(x - n) & !x`; exact for "any byte".
    let below = |x: u64, n: u64| x.wrapping_sub(ONES * n) & !x & HIGH;
    let quote = w ^ (ONES * u64::from(b'"'));
    let backslash = w ^ (ONES * u64::from(b'\\'));
    below(w, 0x20) | below(quote, 1) | below(backslash, 1) != 0
}

/// An object being written into a string; [`end`](Self::end) closes it.
pub struct Object<'a> {
    out: &'a mut String,
    empty: bool,
}

impl<'a> Object<'a> {
    /// Opens an object at the end of `out`.
    pub fn open(out: &'a mut String) -> Self {
        out.push('{');
        Self { out, empty: true }
    }

    fn key(&mut self, key: &str) -> &mut String {
        if !self.empty {
            self.out.push(',');
        }
        self.empty = false;
        self.out.push('"');
        self.out.push_str(key);
        self.out.push_str("\":");
        self.out
    }

    pub fn str(&mut self, key: &str, value: &str) -> &mut Self {
        push_str(self.key(key), value);
        self
    }

    pub fn u64(&mut self, key: &str, value: u64) -> &mut Self {
        push_u64(self.key(key), value);
        self
    }

    pub fn bool(&mut self, key: &str, value: bool) -> &mut Self {
        self.key(key).push_str(if value { "true" } else { "false" });
        self
    }

    /// JSON text written as it is: a payload, already validated.
    pub fn raw(&mut self, key: &str, json: &str) -> &mut Self {
        self.key(key).push_str(json);
        self
    }

    /// `value`, or `null` when it is `None`.
    pub fn u64_or_null(&mut self, key: &str, value: Option<u64>) -> &mut Self {
        match value {
            Some(n) => self.u64(key, n),
            None => self.raw(key, "null"),
        }
    }

    /// `value`, or `null` when it is `None`.
    pub fn str_or_null(&mut self, key: &str, value: Option<&str>) -> &mut Self {
        match value {
            Some(s) => self.str(key, s),
            None => self.raw(key, "null"),
        }
    }

    /// The field only when there is a value.
    pub fn opt_u64(&mut self, key: &str, value: Option<u64>) -> &mut Self {
        if let Some(n) = value {
            self.u64(key, n);
        }
        self
    }

    /// The field only when there is a value.
    pub fn opt_str(&mut self, key: &str, value: Option<&str>) -> &mut Self {
        if let Some(s) = value {
            self.str(key, s);
        }
        self
    }

    /// A nested object under `key`; close it before writing the next field.
    pub fn object(&mut self, key: &str) -> Object<'_> {
        Object::open(self.key(key))
    }

    /// A nested array under `key`; close it before writing the next field.
    pub fn array(&mut self, key: &str) -> Array<'_> {
        Array::open(self.key(key))
    }

    pub fn end(self) {
        self.out.push('}');
    }
}

/// An array being written into a string; [`end`](Self::end) closes it.
pub struct Array<'a> {
    out: &'a mut String,
    empty: bool,
}

impl<'a> Array<'a> {
    pub fn open(out: &'a mut String) -> Self {
        out.push('[');
        Self { out, empty: true }
    }

    /// The next element, an object; close it before the next element.
    pub fn object(&mut self) -> Object<'_> {
        if !self.empty {
            self.out.push(',');
        }
        self.empty = false;
        Object::open(self.out)
    }

    pub fn end(self) {
        self.out.push(']');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_and_strings() {
        let mut s = String::new();
        for n in [0, 7, 10, 1_732_240_000_000, u64::MAX] {
            s.clear();
            push_u64(&mut s, n);
            assert_eq!(s, n.to_string());
        }
        s.clear();
        push_str(&mut s, "a\"\\/\u{8}\u{c}\n\r\t\u{1}\u{1f}\u{7f}é😀");
        assert_eq!(s, "\"a\\\"\\\\/\\b\\f\\n\\r\\t\\u0001\\u001f\u{7f}é😀\"");
        assert_eq!(
            s,
            serde_json::to_string("a\"\\/\u{8}\u{c}\n\r\t\u{1}\u{1f}\u{7f}é😀").unwrap()
        );
    }

    /// Every byte that needs escaping, and some that do not, at every offset within and
    /// across the eight-byte words `push_str` skips, in plain runs of every length.
    #[test]
    fn strings_escape_at_every_offset() {
        let specials = [
            '"', '\\', '\n', '\u{0}', '\u{1f}', ' ', '!', '#', '[', ']', '\u{7f}', 'é',
        ];
        let mut out = String::new();
        for len in 0..20 {
            for at in 0..=len {
                for c in specials {
                    let mut text: String = "abcdefghijklmnopqrstu".chars().take(len).collect();
                    text.insert(at.min(text.len()), c);
                    out.clear();
                    push_str(&mut out, &text);
                    assert_eq!(out, serde_json::to_string(&text).unwrap(), "{text:?}");
                    assert_eq!(out.len(), str_len(&text));
                }
            }
        }
    }

    #[test]
    fn nested_objects() {
        let mut s = String::new();
        let mut o = Object::open(&mut s);
        o.str("a", "x").opt_u64("skip", None).u64_or_null("n", None);
        let mut list = o.array("l");
        let mut item = list.object();
        item.bool("t", true);
        item.end();
        list.object().end();
        list.end();
        let mut inner = o.object("o");
        inner.raw("d", "[1]");
        inner.end();
        o.end();
        assert_eq!(s, r#"{"a":"x","n":null,"l":[{"t":true},{}],"o":{"d":[1]}}"#);
    }
}
