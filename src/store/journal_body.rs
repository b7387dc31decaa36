//! How a journaled body (a request's or an answer's text) is kept by each backend.
//!
//! A ten-record `resultsByIds` answer is ~5 KB, and at thousands of polls a second keeping it was
//! most of the journal's cost (issue #13): on SQLite it spills over a page into an overflow
//! chain; on PostgreSQL it travelled as text in the bind message, to be compressed by TOAST and
//! kept out of line. So bodies of `COMPRESS_FROM_BYTES` and more are kept LZ4-compressed:
//! - SQLite: as a BLOB in the same TEXT column (SQLite keeps a value's own type; TEXT affinity
//!   converts only numbers), short bodies (and entries written before compression) as text;
//! - PostgreSQL: in a BYTEA column (migration 0009), a compressed body behind the byte
//!   `COMPRESSED_TAG`, which never starts UTF-8 text, a short body as its UTF-8 bytes.

use sqlx::encode::IsNull;
use sqlx::error::BoxDynError;
use sqlx::postgres::{PgTypeInfo, PgValueRef};
use sqlx::sqlite::{SqliteArgumentsBuffer, SqliteTypeInfo, SqliteValueRef};
use sqlx::{Decode, Encode, Postgres, Sqlite, Type, TypeInfo, ValueRef};

/// Bodies shorter than this are kept as text: compressing them saves less than it costs.
const COMPRESS_FROM_BYTES: usize = 512;
/// A compressed body never expands to more than this (the journal cuts bodies at 256 KiB); a
/// larger size prefix means the value is not one of ours, and it is refused, not allocated.
const MAX_BODY_BYTES: usize = 1024 * 1024;

/// Marks a compressed body in PostgreSQL's BYTEA column: 0xFF is never a byte of UTF-8.
const COMPRESSED_TAG: u8 = 0xFF;

/// A body on its way into SQLite's journal table.
pub struct BodyToStore<'a>(pub &'a str);

/// A body as PostgreSQL's journal table keeps it (see the module's comment).
pub fn for_postgres(text: &str) -> Vec<u8> {
    if text.len() < COMPRESS_FROM_BYTES {
        return text.as_bytes().to_vec();
    }
    let mut kept = Vec::with_capacity(1 + 4 + text.len() / 2);
    kept.push(COMPRESSED_TAG);
    kept.extend_from_slice(&compress(text));
    kept
}

/// A body read back from the journal table, whichever form it was kept in.
pub struct StoredBody(pub String);

fn compress(text: &str) -> Vec<u8> {
    lz4_flex::block::compress_prepend_size(text.as_bytes())
}

fn decompress(bytes: &[u8]) -> Result<String, BoxDynError> {
    let size = bytes
        .get(..4)
        .map(|prefix| u32::from_le_bytes(prefix.try_into().expect("four bytes")) as usize)
        .ok_or("journal body: compressed value too short")?;
    if size > MAX_BODY_BYTES {
        return Err(format!("journal body: compressed value claims {size} bytes").into());
    }
    let text = lz4_flex::block::decompress_size_prepended(bytes)?;
    Ok(String::from_utf8(text)?)
}

impl Type<Sqlite> for BodyToStore<'_> {
    fn type_info() -> SqliteTypeInfo {
        <str as Type<Sqlite>>::type_info()
    }
}

impl<'q> Encode<'q, Sqlite> for BodyToStore<'_> {
    fn encode_by_ref(&self, args: &mut SqliteArgumentsBuffer) -> Result<IsNull, BoxDynError> {
        if self.0.len() < COMPRESS_FROM_BYTES {
            <&str as Encode<Sqlite>>::encode_by_ref(&self.0, args)
        } else {
            <Vec<u8> as Encode<Sqlite>>::encode(compress(self.0), args)
        }
    }
}

impl Type<Sqlite> for StoredBody {
    fn type_info() -> SqliteTypeInfo {
        <str as Type<Sqlite>>::type_info()
    }

    fn compatible(ty: &SqliteTypeInfo) -> bool {
        <[u8] as Type<Sqlite>>::compatible(ty)
    }
}

impl<'r> Decode<'r, Sqlite> for StoredBody {
    fn decode(value: SqliteValueRef<'r>) -> Result<Self, BoxDynError> {
        let compressed = value.type_info().name() == "BLOB";
        let bytes = <&[u8] as Decode<Sqlite>>::decode(value)?;
        Ok(StoredBody(if compressed {
            decompress(bytes)?
        } else {
            String::from_utf8(bytes.to_vec())?
        }))
    }
}

impl Type<Postgres> for StoredBody {
    fn type_info() -> PgTypeInfo {
        <[u8] as Type<Postgres>>::type_info()
    }
}

impl<'r> Decode<'r, Postgres> for StoredBody {
    fn decode(value: PgValueRef<'r>) -> Result<Self, BoxDynError> {
        let bytes = <&[u8] as Decode<Postgres>>::decode(value)?;
        Ok(StoredBody(match bytes.split_first() {
            Some((&COMPRESSED_TAG, compressed)) => decompress(compressed)?,
            _ => String::from_utf8(bytes.to_vec())?,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compressed_bodies_come_back_as_they_went_in() {
        let body = format!(
            "{{\"code\":1000,\"data\":[{}]}}",
            "{\"_id\":\"x\"},".repeat(200)
        );
        let kept = compress(&body);
        assert!(
            kept.len() * 4 < body.len(),
            "{} of {}",
            kept.len(),
            body.len()
        );
        assert_eq!(decompress(&kept).unwrap(), body);
    }

    #[test]
    fn postgres_keeps_short_bodies_as_utf8_and_long_ones_tagged() {
        assert_eq!(for_postgres("{\"code\":1000}"), b"{\"code\":1000}");
        let body = "\u{e9}t\u{e9} ".repeat(200);
        let kept = for_postgres(&body);
        assert_eq!(kept[0], COMPRESSED_TAG);
        assert!(kept.len() * 4 < body.len());
        assert_eq!(decompress(&kept[1..]).unwrap(), body);
    }

    #[test]
    fn a_value_that_is_not_ours_is_refused_not_allocated() {
        assert!(decompress(b"\x01").is_err());
        assert!(decompress(&u32::MAX.to_le_bytes()).is_err());
        let mut lying = compress(&"a".repeat(1000));
        lying[..4].copy_from_slice(&500u32.to_le_bytes());
        assert!(decompress(&lying).is_err());
    }
}
