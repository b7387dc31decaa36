//! The `_ids` parameter of resultsByIds and delbyids: one string of comma-separated ids.
//!
//! Rules (DESIGN §4): split on `,`, trim white space, drop empty segments, keep the first
//! occurrence of duplicates, and refuse an empty list or one longer than the configured cap.
//! Segments are kept as written so that answers can echo exactly what the caller sent, including
//! segments that are not ObjectIds at all.

use super::ObjectId;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdList(Vec<String>);

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum IdListError {
    #[error("_ids must name at least one id")]
    Empty,
    #[error("_ids names {got} ids; at most {max} are allowed per request")]
    TooMany { max: usize, got: usize },
}

impl IdList {
    pub fn parse(raw: &str, max: usize) -> Result<Self, IdListError> {
        let mut seen = std::collections::HashSet::new();
        let ids: Vec<String> = raw
            .split(',')
            .map(str::trim)
            .filter(|segment| !segment.is_empty())
            .filter(|segment| seen.insert(*segment))
            .map(str::to_owned)
            .collect();
        match ids.len() {
            0 => Err(IdListError::Empty),
            got if got > max => Err(IdListError::TooMany { max, got }),
            _ => Ok(IdList(ids)),
        }
    }

    /// The segments in request order, each once.
    pub fn segments(&self) -> &[String] {
        &self.0
    }

    /// The segments that are well-formed ObjectIds, in request order.
    pub fn object_ids(&self) -> Vec<ObjectId> {
        self.0.iter().filter_map(|s| ObjectId::parse(s)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn trims_drops_empty_segments_and_deduplicates_in_order() {
        let list = IdList::parse(" b , a,,b ,, c ,a", 100).unwrap();
        assert_eq!(list.segments(), ["b", "a", "c"]);
    }

    #[test]
    fn empty_and_blank_lists_are_refused() {
        for raw in ["", " ", ",", " , ,, "] {
            assert_eq!(IdList::parse(raw, 100), Err(IdListError::Empty), "{raw:?}");
        }
    }

    #[test]
    fn the_cap_counts_distinct_ids() {
        let hundred: Vec<String> = (0..100).map(|i| format!("id{i}")).collect();
        assert!(IdList::parse(&hundred.join(","), 100).is_ok());
        let doubled = format!("{},{}", hundred.join(","), hundred.join(","));
        assert!(IdList::parse(&doubled, 100).is_ok());
        let over = format!("{},extra", hundred.join(","));
        assert_eq!(
            IdList::parse(&over, 100),
            Err(IdListError::TooMany { max: 100, got: 101 })
        );
    }

    #[test]
    fn object_ids_keeps_only_well_formed_ids() {
        let list =
            IdList::parse("6650aa11bb22cc33dd44ee55,nope,6650aa11bb22cc33dd44ee56", 10).unwrap();
        let ids: Vec<String> = list.object_ids().iter().map(|i| i.to_hex()).collect();
        assert_eq!(
            ids,
            ["6650aa11bb22cc33dd44ee55", "6650aa11bb22cc33dd44ee56"]
        );
    }

    proptest! {
        #[test]
        fn every_segment_is_trimmed_non_empty_unique_and_came_from_the_input(
            raw in "[ a-f0-9,\t]{0,200}"
        ) {
            match IdList::parse(&raw, 1000) {
                Ok(list) => {
                    let mut seen = std::collections::HashSet::new();
                    for s in list.segments() {
                        prop_assert!(!s.is_empty());
                        prop_assert_eq!(s.trim(), s.as_str());
                        prop_assert!(!s.contains(','));
                        prop_assert!(seen.insert(s.clone()));
                        prop_assert!(raw.split(',').any(|seg| seg.trim() == s));
                    }
                    // Every non-blank input segment is represented.
                    for seg in raw.split(',').map(str::trim).filter(|s| !s.is_empty()) {
                        prop_assert!(list.segments().iter().any(|s| s == seg));
                    }
                }
                Err(IdListError::Empty) => {
                    prop_assert!(raw.split(',').all(|s| s.trim().is_empty()));
                }
                Err(e) => prop_assert!(false, "unexpected {e:?}"),
            }
        }

        #[test]
        fn order_is_the_order_of_first_occurrence(ids in proptest::collection::vec("[a-c]{1,2}", 1..30)) {
            let list = IdList::parse(&ids.join(","), 1000).unwrap();
            let mut expected: Vec<String> = Vec::new();
            for id in &ids {
                if !expected.contains(id) {
                    expected.push(id.clone());
                }
            }
            prop_assert_eq!(list.segments(), expected.as_slice());
        }
    }
}
