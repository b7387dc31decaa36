//! How a journaled body (a request's or an answer's text) is kept by each backend.
//!
//! PostgreSQL compresses long text values itself (TOAST), so it gets the text. SQLite has no such
//! thing: a ten-record `resultsByIds` answer (~5 KB) spills over a page into an overflow chain,
//! and at thousands of polls a second the journal's writes were most of its cost (issue #13). So
//! SQLite gets long bodies LZ4-compressed, as a BLOB in the same TEXT column (SQLite keeps a
//! value's own type; TEXT affinity converts only numbers), and reading takes either form: entries
//! written before compression, or short ones, are text.

use sqlx::encode::IsNull;
use sqlx::error::BoxDynError;
use sqlx::postgres::{PgArgumentBuffer, PgTypeInfo, PgValueRef};
use sqlx::sqlite::{SqliteArgumentsBuffer, SqliteTypeInfo, SqliteValueRef};
use sqlx::{Decode, Encode, Postgres, Sqlite, Type, TypeInfo, ValueRef};

/// Bodies shorter than this are kept as text: compressing them saves less than it costs.
const COMPRESS_FROM_BYTES: usize = 512;
/// A compressed body never expands to more than this (the journal cuts bodies at 256 KiB); a
/// larger size prefix means the value is not one of ours, and it is refused, not allocated.
const MAX_BODY_BYTES: usize = 1024 * 1024;

/// A body on its way into the journal table.
pub struct BodyToStore<'a>(pub &'a str);

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

impl Type<Postgres> for BodyToStore<'_> {
    fn type_info() -> PgTypeInfo {
        <str as Type<Postgres>>::type_info()
    }
}

impl<'q> Encode<'q, Postgres> for BodyToStore<'_> {
    fn encode_by_ref(&self, buf: &mut PgArgumentBuffer) -> Result<IsNull, BoxDynError> {
        <&str as Encode<Postgres>>::encode_by_ref(&self.0, buf)
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
        <String as Type<Postgres>>::type_info()
    }

    fn compatible(ty: &PgTypeInfo) -> bool {
        <String as Type<Postgres>>::compatible(ty)
    }
}

impl<'r> Decode<'r, Postgres> for StoredBody {
    fn decode(value: PgValueRef<'r>) -> Result<Self, BoxDynError> {
        <String as Decode<Postgres>>::decode(value).map(StoredBody)
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
    fn a_value_that_is_not_ours_is_refused_not_allocated() {
        assert!(decompress(b"\x01").is_err());
        assert!(decompress(&u32::MAX.to_le_bytes()).is_err());
        let mut lying = compress(&"a".repeat(1000));
        lying[..4].copy_from_slice(&500u32.to_le_bytes());
        assert!(decompress(&lying).is_err());
    }
}
