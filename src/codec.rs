//! The one encoding of names and times in the files linkdup writes and reads (plans, journals,
//! JSON reports): a name is a string when it is UTF-8; otherwise the string holds a readable
//! version (U+FFFD for the bad bytes) and a sibling field `<key>_bytes` holds the exact bytes as
//! an array of numbers. A time is `[seconds, nanoseconds]`.

use serde_json::{Map, Value, json};

use crate::model::Timestamp;

/// Put `bytes` under `key` (and `key_bytes` when they are not UTF-8).
pub fn put_bytes(m: &mut Map<String, Value>, key: &str, bytes: &[u8]) {
    match std::str::from_utf8(bytes) {
        Ok(s) => {
            m.insert(key.into(), json!(s));
        }
        Err(_) => {
            m.insert(key.into(), json!(String::from_utf8_lossy(bytes)));
            m.insert(format!("{key}_bytes"), json!(bytes));
        }
    }
}

/// The exact bytes under `key`: `key_bytes` when present, else the string; an array of numbers
/// under `key` itself (the first journal format) is read too.
pub fn get_bytes(v: &Value, key: &str) -> Option<Vec<u8>> {
    let array = |a: &Value| -> Option<Vec<u8>> {
        a.as_array()?
            .iter()
            .map(|b| b.as_u64().and_then(|b| u8::try_from(b).ok()))
            .collect()
    };
    let exact = &v[format!("{key}_bytes")];
    if !exact.is_null() {
        return array(exact);
    }
    match &v[key] {
        Value::String(s) => Some(s.as_bytes().to_vec()),
        a @ Value::Array(_) => array(a),
        _ => None,
    }
}

/// A time stamp as `[seconds, nanoseconds]`.
pub fn ts(t: Timestamp) -> Value {
    let (sec, nsec) = (t.sec, t.nsec);
    json!([sec, nsec])
}

pub fn read_ts(v: &Value) -> Option<Timestamp> {
    Some(Timestamp {
        sec: v[0].as_i64()?,
        nsec: u32::try_from(v[1].as_u64()?).ok()?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_exactly() {
        let cases: &[&[u8]] = &[
            b"plain",
            b"",
            b"bad\xffbyte",
            b"new\nline",
            "caf\u{e9}".as_bytes(),
        ];
        for &bytes in cases {
            let mut m = Map::new();
            put_bytes(&mut m, "path", bytes);
            let v = Value::Object(m);
            assert_eq!(get_bytes(&v, "path").as_deref(), Some(bytes), "{v}");
            assert!(v["path"].is_string(), "{v}");
        }
        assert_eq!(
            get_bytes(&json!({"path": [104, 105]}), "path"),
            Some(b"hi".to_vec())
        );
        assert_eq!(get_bytes(&json!({"path": 3}), "path"), None);
        let t = Timestamp { sec: -5, nsec: 7 };
        assert_eq!(read_ts(&ts(t)), Some(t));
    }
}
