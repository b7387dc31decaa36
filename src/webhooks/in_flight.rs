//! This process's webhook attempts in flight, in all and per receiver.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

#[derive(Clone, Default)]
pub struct InFlight {
    inner: Arc<Mutex<Counts>>,
}

#[derive(Default)]
struct Counts {
    total: usize,
    per_receiver: HashMap<String, usize>,
}

/// One attempt in flight; counted until dropped.
pub struct InFlightSlot {
    owner: InFlight,
    receiver: String,
}

impl InFlight {
    fn counts(&self) -> MutexGuard<'_, Counts> {
        // Plain counters stay consistent whatever panicked while holding the lock.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn total(&self) -> usize {
        self.counts().total
    }

    /// Counts an attempt to `receiver` unless it already has `max_per_receiver` in flight.
    pub fn try_start(&self, receiver: &str, max_per_receiver: usize) -> Option<InFlightSlot> {
        let mut counts = self.counts();
        let n = counts.per_receiver.entry(receiver.to_owned()).or_insert(0);
        if *n >= max_per_receiver {
            return None;
        }
        *n += 1;
        counts.total += 1;
        Some(InFlightSlot {
            owner: self.clone(),
            receiver: receiver.to_owned(),
        })
    }
}

impl Drop for InFlightSlot {
    fn drop(&mut self) {
        let mut counts = self.owner.counts();
        counts.total = counts.total.saturating_sub(1);
        if let Some(n) = counts.per_receiver.get_mut(&self.receiver) {
            *n -= 1;
            if *n == 0 {
                counts.per_receiver.remove(&self.receiver);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_receiver_has_its_own_limit_and_slots_come_back() {
        let in_flight = InFlight::default();
        let a1 = in_flight.try_start("a", 2).unwrap();
        let _a2 = in_flight.try_start("a", 2).unwrap();
        assert!(in_flight.try_start("a", 2).is_none(), "a is at its limit");
        let _b = in_flight.try_start("b", 2).expect("b is not slowed by a");
        assert_eq!(in_flight.total(), 3);
        drop(a1);
        assert_eq!(in_flight.total(), 2);
        assert!(in_flight.try_start("a", 2).is_some());
    }
}
