//! Durations are `std::time::Duration` in the code and plain integers in the file and the
//! environment, in the unit the key's name says (`lease_ms = 30000`, `timeout_secs = 60`,
//! `ttl_days = 400`): those names are a public contract. Use as
//! `#[serde(rename = "lease_ms", with = "duration::millis")]`.

macro_rules! unit {
    ($name:ident, $doc:literal, $from:expr, $to:expr) => {
        #[doc = $doc]
        pub mod $name {
            use std::time::Duration;

            use serde::{Deserialize, Deserializer, Serializer};

            pub fn serialize<S: Serializer>(value: &Duration, out: S) -> Result<S::Ok, S::Error> {
                let to: fn(&Duration) -> u64 = $to;
                out.serialize_u64(to(value))
            }

            pub fn deserialize<'de, D: Deserializer<'de>>(input: D) -> Result<Duration, D::Error> {
                let from: fn(u64) -> Duration = $from;
                u64::deserialize(input).map(from)
            }
        }
    };
}

unit!(millis, "Whole milliseconds.", Duration::from_millis, |d| {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
});
unit!(secs, "Whole seconds.", Duration::from_secs, |d| d.as_secs());
unit!(
    days,
    "Whole days of 86400 seconds.",
    |n| Duration::from_secs(n.saturating_mul(86_400)),
    |d| d.as_secs() / 86_400
);

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use serde::{Deserialize, Serialize};

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Sample {
        #[serde(rename = "wait_ms", with = "super::millis")]
        wait: Duration,
        #[serde(rename = "limit_secs", with = "super::secs")]
        limit: Duration,
        #[serde(rename = "keep_days", with = "super::days")]
        keep: Duration,
    }

    #[test]
    fn the_file_keeps_its_units_and_key_names() {
        let text = "wait_ms = 1500\nlimit_secs = 60\nkeep_days = 2\n";
        let sample: Sample = toml::from_str(text).unwrap();
        assert_eq!(
            sample,
            Sample {
                wait: Duration::from_millis(1500),
                limit: Duration::from_secs(60),
                keep: Duration::from_secs(2 * 86_400),
            }
        );
        assert_eq!(toml::to_string(&sample).unwrap(), text);
    }

    #[test]
    fn negative_or_fractional_values_are_refused() {
        assert!(toml::from_str::<Sample>("wait_ms = -1\nlimit_secs = 1\nkeep_days = 1\n").is_err());
        assert!(
            toml::from_str::<Sample>("wait_ms = 1.5\nlimit_secs = 1\nkeep_days = 1\n").is_err()
        );
    }
}
