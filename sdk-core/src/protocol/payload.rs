//! A message's `data`, kept as the JSON text it arrived as.

use std::fmt;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

/// Any JSON value, held as validated JSON text.
///
/// The server stores and forwards a payload exactly as the publisher wrote it, and clients decode
/// it straight into the app's own type: no hop builds a `serde_json::Value` tree. That saves an
/// allocation per node on every hop, and keeps serde_json's tree code out of the wasm client.
///
/// Equality compares the text: two payloads that differ only in whitespace or key order are not
/// equal. Decode them to compare values.
#[derive(Clone, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Payload(Box<RawValue>);

impl Payload {
    /// JSON `null`, the payload of a message published without data.
    pub fn null() -> Self {
        Self::from_json("null").unwrap_or_else(|_| unreachable!("null is valid JSON"))
    }

    /// Checks that `text` is one JSON value and keeps it (without surrounding whitespace).
    pub fn from_json(text: impl Into<String>) -> Result<Self, serde_json::Error> {
        RawValue::from_string(text.into()).map(Self)
    }

    /// Serializes `value` to JSON.
    pub fn encode<T: Serialize + ?Sized>(value: &T) -> Result<Self, serde_json::Error> {
        serde_json::value::to_raw_value(value).map(Self)
    }

    /// Decodes the payload into `T`.
    pub fn decode<T: DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        serde_json::from_str(self.0.get())
    }

    /// The JSON text.
    pub fn json(&self) -> &str {
        self.0.get()
    }
}

impl Default for Payload {
    fn default() -> Self {
        Self::null()
    }
}

impl PartialEq for Payload {
    fn eq(&self, other: &Self) -> bool {
        self.json() == other.json()
    }
}

impl Eq for Payload {}

impl fmt::Debug for Payload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.json())
    }
}

impl fmt::Display for Payload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.json())
    }
}

impl From<serde_json::Value> for Payload {
    fn from(value: serde_json::Value) -> Self {
        // A `Value` always serializes: its map keys are strings.
        Self::encode(&value).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn keeps_the_text_and_checks_it() {
        let p = Payload::from_json(" {\"b\":1, \"a\":[true]} ").unwrap();
        assert_eq!(p.json(), "{\"b\":1, \"a\":[true]}");
        assert_eq!(
            p.decode::<serde_json::Value>().unwrap(),
            json!({"a": [true], "b": 1})
        );
        assert!(Payload::from_json("{\"a\":").is_err());
        assert!(Payload::from_json("1 2").is_err());
        assert!(Payload::from_json("").is_err());
        assert_eq!(Payload::default().json(), "null");
        assert_eq!(Payload::from(json!({"x": "y"})).json(), r#"{"x":"y"}"#);
    }

    #[test]
    fn embeds_verbatim_in_a_struct() {
        #[derive(Serialize, Deserialize)]
        struct Frame {
            #[serde(default)]
            data: Payload,
            n: u8,
        }
        let f: Frame = serde_json::from_str(r#"{"data":{"k":[1,2.5,"é"]},"n":3}"#).unwrap();
        assert_eq!(f.data.json(), r#"{"k":[1,2.5,"é"]}"#);
        assert_eq!(
            serde_json::to_string(&f).unwrap(),
            r#"{"data":{"k":[1,2.5,"é"]},"n":3}"#
        );
        let f: Frame = serde_json::from_str(r#"{"n":3}"#).unwrap();
        assert_eq!(f.data, Payload::null());
    }
}
