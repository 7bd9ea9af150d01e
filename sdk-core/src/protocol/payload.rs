//! A message's `data`, kept as the JSON text it arrived as.

use std::fmt;

use super::json::{self, JsonError};

/// Any JSON value, held as validated JSON text.
///
/// The server stores and forwards a payload exactly as the publisher wrote it, and clients decode
/// it straight into the app's own type: no hop builds a JSON tree. That saves an allocation per
/// node on every hop, and keeps tree-building code out of the wasm client.
///
/// Equality compares the text: two payloads that differ only in whitespace or key order are not
/// equal. Decode them to compare values.
#[derive(Clone)]
pub struct Payload(Box<str>);

impl Payload {
    /// JSON `null`, the payload of a message published without data.
    pub fn null() -> Self {
        Self("null".into())
    }

    /// Checks that `text` is one JSON value and keeps it (without surrounding whitespace).
    pub fn from_json(text: impl Into<String>) -> Result<Self, JsonError> {
        let text = text.into();
        let value = json::validate(&text)?;
        if value.len() == text.len() {
            return Ok(Self(text.into_boxed_str()));
        }
        Ok(Self(text[value].into()))
    }

    /// A value the JSON reader has just validated.
    pub(crate) fn from_valid(json: &str) -> Self {
        Self(json.into())
    }

    /// The JSON text.
    pub fn json(&self) -> &str {
        &self.0
    }
}

#[cfg(feature = "serde")]
mod typed {
    use serde::de::{DeserializeOwned, Deserializer};
    use serde::ser::{Error as _, Serializer};
    use serde::{Deserialize, Serialize};
    use serde_json::value::RawValue;

    use super::Payload;

    impl Payload {
        /// Serializes `value` to JSON.
        pub fn encode<T: Serialize + ?Sized>(value: &T) -> Result<Self, serde_json::Error> {
            serde_json::to_string(value).map(|text| Self(text.into_boxed_str()))
        }

        /// Decodes the payload into `T`.
        pub fn decode<T: DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
            serde_json::from_str(&self.0)
        }
    }

    impl From<serde_json::Value> for Payload {
        fn from(value: serde_json::Value) -> Self {
            Self(value.to_string().into_boxed_str())
        }
    }

    /// Embedded verbatim, as serde_json's raw values are (the server's stored and HTTP forms).
    impl Serialize for Payload {
        fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
            let raw: &RawValue = serde_json::from_str(&self.0).map_err(S::Error::custom)?;
            raw.serialize(serializer)
        }
    }

    impl<'de> Deserialize<'de> for Payload {
        fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
            Box::<RawValue>::deserialize(deserializer).map(|raw| Self(raw.into()))
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_text_and_checks_it() {
        let p = Payload::from_json(" {\"b\":1, \"a\":[true]} ").unwrap();
        assert_eq!(p.json(), "{\"b\":1, \"a\":[true]}");
        assert!(Payload::from_json("{\"a\":").is_err());
        assert!(Payload::from_json("1 2").is_err());
        assert!(Payload::from_json("").is_err());
        assert_eq!(Payload::default().json(), "null");
    }

    #[cfg(feature = "serde")]
    #[test]
    fn typed_and_embedded_verbatim_with_serde() {
        use serde::{Deserialize, Serialize};
        use serde_json::json;

        let p = Payload::from_json(" {\"b\":1, \"a\":[true]} ").unwrap();
        assert_eq!(
            p.decode::<serde_json::Value>().unwrap(),
            json!({"a": [true], "b": 1})
        );
        assert_eq!(Payload::from(json!({"x": "y"})).json(), r#"{"x":"y"}"#);

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
