//! MongoDB-style ObjectIds: 4 bytes of seconds since the epoch, 5 random bytes chosen once per
//! process, and a 3-byte counter. Ids from one process are unique and increase, so the ids of one
//! batch are consecutive as in Akool's examples; the random middle keeps processes apart.

use std::fmt;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::OnceLock;

use serde::{Serialize, Serializer};

#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ObjectId([u8; 12]);

struct Generator {
    process: [u8; 5],
    counter: AtomicU32,
}

fn generator() -> &'static Generator {
    static GENERATOR: OnceLock<Generator> = OnceLock::new();
    GENERATOR.get_or_init(|| Generator {
        process: rand::random(),
        counter: AtomicU32::new(rand::random::<u32>() & 0x00ff_ffff),
    })
}

impl ObjectId {
    /// A new id stamped with `unix_secs`.
    pub fn generate(unix_secs: u64) -> Self {
        let g = generator();
        let count = g.counter.fetch_add(1, Ordering::Relaxed) & 0x00ff_ffff;
        let mut bytes = [0u8; 12];
        bytes[..4].copy_from_slice(&(unix_secs as u32).to_be_bytes());
        bytes[4..9].copy_from_slice(&g.process);
        bytes[9..].copy_from_slice(&count.to_be_bytes()[1..]);
        ObjectId(bytes)
    }

    /// Parses exactly 24 lower-case hex digits, the only spelling i2v ever hands out.
    pub fn parse(text: &str) -> Option<Self> {
        let raw = text.as_bytes();
        if raw.len() != 24 || !raw.iter().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            return None;
        }
        let mut bytes = [0u8; 12];
        hex::decode_to_slice(raw, &mut bytes).ok()?;
        Some(ObjectId(bytes))
    }

    pub fn unix_secs(&self) -> u32 {
        u32::from_be_bytes([self.0[0], self.0[1], self.0[2], self.0[3]])
    }

    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }
}

impl fmt::Display for ObjectId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for ObjectId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ObjectId({})", self.to_hex())
    }
}

impl Serialize for ObjectId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_hex())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn generated_ids_round_trip_and_carry_their_time() {
        let id = ObjectId::generate(1_754_362_985);
        let hex = id.to_hex();
        assert_eq!(hex.len(), 24);
        assert_eq!(ObjectId::parse(&hex), Some(id));
        assert_eq!(id.unix_secs(), 1_754_362_985);
    }

    #[test]
    fn ids_of_one_process_are_unique_and_increasing_within_a_second() {
        let ids: Vec<_> = (0..10_000).map(|_| ObjectId::generate(1_000)).collect();
        let unique: HashSet<_> = ids.iter().collect();
        assert_eq!(unique.len(), ids.len());
        // The counter may wrap once at 2^24; everywhere else ids follow creation order.
        let descending = ids.windows(2).filter(|w| w[0] >= w[1]).count();
        assert!(descending <= 1);
    }

    #[test]
    fn parse_rejects_everything_but_24_lower_hex_digits() {
        for bad in [
            "",
            "6650aa11bb22cc33dd44ee5",
            "6650aa11bb22cc33dd44ee555",
            "6650AA11BB22CC33DD44EE55",
            "6650aa11bb22cc33dd44ee5g",
            " 6650aa11bb22cc33dd44ee5",
            "6650aa11bb22cc33dd44ee5é",
        ] {
            assert_eq!(ObjectId::parse(bad), None, "{bad:?}");
        }
        assert!(ObjectId::parse("6650aa11bb22cc33dd44ee55").is_some());
    }
}
