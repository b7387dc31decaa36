//! JSON with every object's keys in sorted order, written straight from the value, byte for byte
//! what `serde_json::to_vec(&serde_json::to_value(v)?)` writes, without building the `Value`.
//!
//! Building a `Value` of an answer allocates a `String` and a map node per field and then walks
//! the tree again to write it: for a ten-record `resultsByIds` answer that was most of what
//! answering cost besides the read. Here each object serializes its fields into one buffer of
//! its own, notes where each starts, and is written out in key order at its end. Scalars and
//! strings are written by serde_json itself, so escaping and number formats are its own.

use std::borrow::Cow;

use serde::ser::{self, Serialize};
use serde_json::Error;

/// `value` as JSON text with sorted object keys.
pub fn to_vec<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, Error> {
    let mut out = Vec::with_capacity(512);
    value.serialize(Sorted { out: &mut out })?;
    Ok(out)
}

/// Writes one value into `out`.
struct Sorted<'a> {
    out: &'a mut Vec<u8>,
}

impl<'a> Sorted<'a> {
    fn json(&mut self) -> serde_json::Serializer<&mut Vec<u8>> {
        serde_json::Serializer::new(&mut *self.out)
    }
}

/// Delegates a scalar to serde_json's own serializer.
macro_rules! scalar {
    ($($method:ident($ty:ty),)*) => {
        $(fn $method(mut self, v: $ty) -> Result<(), Error> {
            ser::Serializer::$method(&mut self.json(), v)
        })*
    };
}

impl<'a> ser::Serializer for Sorted<'a> {
    type Ok = ();
    type Error = Error;
    type SerializeSeq = Array<'a>;
    type SerializeTuple = Array<'a>;
    type SerializeTupleStruct = Array<'a>;
    type SerializeTupleVariant = Tagged<Array<'a>>;
    type SerializeMap = Object<'a>;
    type SerializeStruct = Object<'a>;
    type SerializeStructVariant = Tagged<Object<'a>>;

    scalar! {
        serialize_bool(bool),
        serialize_i8(i8),
        serialize_i16(i16),
        serialize_i32(i32),
        serialize_i64(i64),
        serialize_i128(i128),
        serialize_u8(u8),
        serialize_u16(u16),
        serialize_u32(u32),
        serialize_u64(u64),
        serialize_u128(u128),
        serialize_f64(f64),
        serialize_char(char),
        serialize_str(&str),
        serialize_bytes(&[u8]),
    }

    /// As a `Value` holds it: widened to f64 (so 0.1f32 reads 0.10000000149011612).
    fn serialize_f32(self, v: f32) -> Result<(), Error> {
        self.serialize_f64(f64::from(v))
    }

    fn serialize_none(self) -> Result<(), Error> {
        self.serialize_unit()
    }

    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<(), Error> {
        value.serialize(self)
    }

    fn serialize_unit(self) -> Result<(), Error> {
        self.out.extend_from_slice(b"null");
        Ok(())
    }

    fn serialize_unit_struct(self, _name: &'static str) -> Result<(), Error> {
        self.serialize_unit()
    }

    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<(), Error> {
        self.serialize_str(variant)
    }

    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        value.serialize(self)
    }

    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        mut self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        open_tag(&mut self, variant)?;
        value.serialize(Sorted {
            out: &mut *self.out,
        })?;
        self.out.push(b'}');
        Ok(())
    }

    fn serialize_seq(self, _len: Option<usize>) -> Result<Array<'a>, Error> {
        self.out.push(b'[');
        Ok(Array {
            out: self.out,
            first: true,
        })
    }

    fn serialize_tuple(self, len: usize) -> Result<Array<'a>, Error> {
        self.serialize_seq(Some(len))
    }

    fn serialize_tuple_struct(self, _name: &'static str, len: usize) -> Result<Array<'a>, Error> {
        self.serialize_seq(Some(len))
    }

    fn serialize_tuple_variant(
        mut self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<Tagged<Array<'a>>, Error> {
        open_tag(&mut self, variant)?;
        Ok(Tagged(self.serialize_seq(Some(len))?))
    }

    fn serialize_map(self, len: Option<usize>) -> Result<Object<'a>, Error> {
        Ok(Object::new(self.out, len.unwrap_or(0)))
    }

    fn serialize_struct(self, _name: &'static str, len: usize) -> Result<Object<'a>, Error> {
        Ok(Object::new(self.out, len))
    }

    fn serialize_struct_variant(
        mut self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<Tagged<Object<'a>>, Error> {
        open_tag(&mut self, variant)?;
        Ok(Tagged(Object::new(self.out, len)))
    }
}

/// `{"variant":` of an externally tagged enum value; the caller closes it.
fn open_tag(sorted: &mut Sorted<'_>, variant: &str) -> Result<(), Error> {
    sorted.out.push(b'{');
    ser::Serializer::serialize_str(&mut sorted.json(), variant)?;
    sorted.out.push(b':');
    Ok(())
}

pub struct Array<'a> {
    out: &'a mut Vec<u8>,
    first: bool,
}

impl<'a> Array<'a> {
    fn element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        if !self.first {
            self.out.push(b',');
        }
        self.first = false;
        value.serialize(Sorted {
            out: &mut *self.out,
        })
    }

    /// Writes the closing bracket; gives `out` back for a tag's closing brace.
    fn close(self) -> &'a mut Vec<u8> {
        self.out.push(b']');
        self.out
    }
}

/// Sequences, tuples and tuple structs are all written as arrays.
macro_rules! array_of {
    ($($trait:ident :: $method:ident,)*) => {
        $(impl ser::$trait for Array<'_> {
            type Ok = ();
            type Error = Error;
            fn $method<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
                self.element(value)
            }
            fn end(self) -> Result<(), Error> {
                self.close();
                Ok(())
            }
        })*
    };
}

array_of! {
    SerializeSeq::serialize_element,
    SerializeTuple::serialize_element,
    SerializeTupleStruct::serialize_field,
}

/// An object being written: its members' values go into `values` as they come, and the object
/// is written to `out` in key order at its end.
pub struct Object<'a> {
    out: &'a mut Vec<u8>,
    values: Vec<u8>,
    members: Vec<Member>,
    /// A map's key, waiting for its value.
    key: Option<String>,
}

struct Member {
    key: Cow<'static, str>,
    start: usize,
    end: usize,
}

impl<'a> Object<'a> {
    fn new(out: &'a mut Vec<u8>, len: usize) -> Object<'a> {
        Object {
            out,
            values: Vec::with_capacity(len * 16),
            members: Vec::with_capacity(len),
            key: None,
        }
    }

    fn member<T: Serialize + ?Sized>(
        &mut self,
        key: Cow<'static, str>,
        value: &T,
    ) -> Result<(), Error> {
        let start = self.values.len();
        value.serialize(Sorted {
            out: &mut self.values,
        })?;
        let end = self.values.len();
        self.members.push(Member { key, start, end });
        Ok(())
    }

    /// Writes the object; gives `out` back for a tag's closing brace.
    fn close(self) -> Result<&'a mut Vec<u8>, Error> {
        let Object {
            out,
            values,
            mut members,
            ..
        } = self;
        // Stable: of members with one key the last stays last, and it is the one a `Value` keeps.
        members.sort_by(|a, b| a.key.cmp(&b.key));
        out.push(b'{');
        let mut first = true;
        for (n, member) in members.iter().enumerate() {
            if members
                .get(n + 1)
                .is_some_and(|next| next.key == member.key)
            {
                continue;
            }
            if !first {
                out.push(b',');
            }
            first = false;
            ser::Serializer::serialize_str(
                &mut serde_json::Serializer::new(&mut *out),
                &member.key,
            )?;
            out.push(b':');
            out.extend_from_slice(&values[member.start..member.end]);
        }
        out.push(b'}');
        Ok(out)
    }
}

impl ser::SerializeStruct for Object<'_> {
    type Ok = ();
    type Error = Error;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        self.member(Cow::Borrowed(key), value)
    }
    fn end(self) -> Result<(), Error> {
        self.close().map(drop)
    }
}

impl ser::SerializeMap for Object<'_> {
    type Ok = ();
    type Error = Error;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), Error> {
        self.key = Some(map_key(key)?);
        Ok(())
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        let key = self
            .key
            .take()
            .ok_or_else(|| ser::Error::custom("a map value without its key"))?;
        self.member(Cow::Owned(key), value)
    }
    fn end(self) -> Result<(), Error> {
        self.close().map(drop)
    }
}

/// A map key as the text serde_json's `Value` makes of it (strings, numbers, booleans, chars).
fn map_key<T: Serialize + ?Sized>(key: &T) -> Result<String, Error> {
    match serde_json::to_value(key)? {
        serde_json::Value::String(text) => Ok(text),
        serde_json::Value::Number(n) => Ok(n.to_string()),
        serde_json::Value::Bool(b) => Ok(b.to_string()),
        _ => Err(ser::Error::custom("a map key must be a string")),
    }
}

/// An externally tagged variant's content, closed with the tag's `}`.
pub struct Tagged<S>(S);

impl ser::SerializeTupleVariant for Tagged<Array<'_>> {
    type Ok = ();
    type Error = Error;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        self.0.element(value)
    }
    fn end(self) -> Result<(), Error> {
        self.0.close().push(b'}');
        Ok(())
    }
}

impl ser::SerializeStructVariant for Tagged<Object<'_>> {
    type Ok = ();
    type Error = Error;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        self.0.member(Cow::Borrowed(key), value)
    }
    fn end(self) -> Result<(), Error> {
        self.0.close()?.push(b'}');
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use proptest::prelude::*;
    use serde::Serialize;
    use serde_json::{json, Value};

    use super::to_vec;

    fn by_value<T: Serialize>(v: &T) -> String {
        serde_json::to_string(&serde_json::to_value(v).unwrap()).unwrap()
    }

    fn sorted<T: Serialize>(v: &T) -> String {
        String::from_utf8(to_vec(v).unwrap()).unwrap()
    }

    #[derive(Serialize)]
    enum Shape {
        Unit,
        Newtype(Option<i64>),
        Tuple(u8, &'static str),
        Record { z: bool, a: Vec<Shape> },
    }

    #[derive(Serialize)]
    struct Inner {
        b: i64,
        #[serde(rename = "A")]
        a: &'static str,
    }

    #[derive(Serialize)]
    struct Outer {
        zeta: f32,
        #[serde(skip_serializing_if = "Option::is_none")]
        skipped: Option<i64>,
        shapes: Vec<Shape>,
        #[serde(flatten)]
        inner: Inner,
        by_number: HashMap<i64, char>,
        by_flag: HashMap<bool, ()>,
        bytes: &'static [u8],
        text: String,
        tuple: (i8, u128, f64),
        nothing: Option<()>,
    }

    #[test]
    fn every_shape_serde_writes_matches_the_value_route() {
        let outer = Outer {
            zeta: 0.1,
            skipped: None,
            shapes: vec![
                Shape::Unit,
                Shape::Newtype(Some(-3)),
                Shape::Newtype(None),
                Shape::Tuple(7, "é\"\n\u{1}"),
                Shape::Record {
                    z: true,
                    a: vec![Shape::Unit],
                },
            ],
            inner: Inner { b: 2, a: "x" },
            by_number: HashMap::from([(10, 'a'), (-2, 'b'), (3, '"')]),
            by_flag: HashMap::from([(true, ()), (false, ())]),
            bytes: b"\x00\xff",
            text: "tab\there, emoji 🎬, slash /".into(),
            tuple: (-1, u128::from(u64::MAX), f64::NAN),
            nothing: None,
        };
        assert_eq!(sorted(&outer), by_value(&outer));
    }

    #[test]
    fn a_repeated_key_keeps_its_last_value_as_a_value_does() {
        #[derive(Serialize)]
        struct Twice {
            a: i64,
            #[serde(flatten)]
            more: HashMap<&'static str, i64>,
        }
        let twice = Twice {
            a: 1,
            more: HashMap::from([("a", 2)]),
        };
        assert_eq!(sorted(&twice), by_value(&twice));
    }

    #[test]
    fn empty_containers_and_bare_scalars() {
        for value in [
            json!({}),
            json!([]),
            json!(null),
            json!(1.5),
            json!("s"),
            json!([{}]),
        ] {
            assert_eq!(sorted(&value), by_value(&value));
        }
    }

    fn any_json() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            any::<u64>().prop_map(Value::from),
            any::<f64>().prop_map(Value::from),
            any::<String>().prop_map(Value::from),
        ];
        leaf.prop_recursive(4, 64, 8, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
                prop::collection::vec((any::<String>(), inner), 0..8)
                    .prop_map(|members| Value::Object(members.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #[test]
        fn any_json_value_is_written_as_the_value_route_writes_it(value in any_json()) {
            prop_assert_eq!(sorted(&value), by_value(&value));
        }
    }
}
