//! Render slots shared fairly between accounts. A worker that has fetched a video's inputs waits
//! here for one of the process's render slots; when a slot frees up it goes to the waiting
//! account that was served least recently (oldest waiter first within an account). A plain FIFO
//! semaphore would let an account with many videos already waiting keep every slot while another
//! account's first video queues behind all of them; this way that video waits for at most the
//! renders already running.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::oneshot;

#[derive(Clone)]
pub struct RenderSlots {
    inner: Arc<Mutex<State>>,
}

struct State {
    capacity: usize,
    free: usize,
    waiting: VecDeque<Waiter>,
    /// Per account, the turn at which it last got a slot (absent: never, on this process).
    last_served: HashMap<i64, u64>,
    turn: u64,
    next_ticket: u64,
}

struct Waiter {
    uid: i64,
    ticket: u64,
    grant: oneshot::Sender<()>,
}

/// One render slot; given back when dropped.
pub struct SlotPermit {
    slots: RenderSlots,
}

impl Drop for SlotPermit {
    fn drop(&mut self) {
        self.slots.release();
    }
}

impl RenderSlots {
    pub fn new(slots: usize) -> RenderSlots {
        RenderSlots {
            inner: Arc::new(Mutex::new(State {
                capacity: slots.max(1),
                free: slots.max(1),
                waiting: VecDeque::new(),
                last_served: HashMap::new(),
                turn: 0,
                next_ticket: 0,
            })),
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // The state stays consistent under every panic point (plain field updates), so a
        // poisoned lock is safe to keep using.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Waits for a slot for a render of account `uid`. Cancel-safe: dropping the future gives
    /// back a slot it was granted but never took.
    pub async fn acquire(&self, uid: i64) -> SlotPermit {
        let (ticket, receiver) = {
            let mut state = self.state();
            if state.free > 0 && state.waiting.is_empty() {
                state.free -= 1;
                state.mark_served(uid);
                return SlotPermit {
                    slots: self.clone(),
                };
            }
            let (grant, receiver) = oneshot::channel();
            let ticket = state.next_ticket;
            state.next_ticket += 1;
            state.waiting.push_back(Waiter { uid, ticket, grant });
            (ticket, receiver)
        };
        let mut wait = Wait {
            slots: self,
            ticket,
            receiver: Some(receiver),
        };
        if let Some(receiver) = wait.receiver.as_mut() {
            // The sender lives in `waiting` until it grants; it is never dropped unsent.
            let _ = receiver.await;
        }
        wait.receiver = None;
        SlotPermit {
            slots: self.clone(),
        }
    }

    fn release(&self) {
        let mut state = self.state();
        state.free += 1;
        state.grant_waiting();
    }

    /// Free slots right now.
    pub fn available(&self) -> usize {
        self.state().free
    }

    /// How many slots there are.
    pub fn capacity(&self) -> usize {
        self.state().capacity
    }

    /// Renders waiting for a slot right now.
    pub fn waiting(&self) -> usize {
        self.state().waiting.len()
    }
}

impl State {
    fn mark_served(&mut self, uid: i64) {
        self.turn += 1;
        self.last_served.insert(uid, self.turn);
    }

    /// Hands free slots to waiters: least recently served account first, then oldest ticket.
    fn grant_waiting(&mut self) {
        while self.free > 0 {
            let pick = self
                .waiting
                .iter()
                .enumerate()
                .min_by_key(|(_, w)| (self.last_served.get(&w.uid).copied().unwrap_or(0), w.ticket))
                .map(|(at, _)| at);
            let Some(waiter) = pick.and_then(|at| self.waiting.remove(at)) else {
                return;
            };
            if waiter.grant.send(()).is_ok() {
                self.free -= 1;
                self.mark_served(waiter.uid);
            }
        }
    }
}

/// A pending `acquire`; when dropped before it completes, it leaves the queue, or gives back the
/// slot that was granted to it in the meantime.
struct Wait<'a> {
    slots: &'a RenderSlots,
    ticket: u64,
    receiver: Option<oneshot::Receiver<()>>,
}

impl Drop for Wait<'_> {
    fn drop(&mut self) {
        let Some(mut receiver) = self.receiver.take() else {
            return;
        };
        receiver.close();
        if receiver.try_recv().is_ok() {
            self.slots.release();
        } else {
            let mut state = self.slots.state();
            state.waiting.retain(|w| w.ticket != self.ticket);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    async fn granted_order(slots: &RenderSlots, uids: &[i64]) -> Vec<i64> {
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let mut tasks = Vec::new();
        for &uid in uids {
            let (slots, tx) = (slots.clone(), tx.clone());
            tasks.push(tokio::spawn(async move {
                let permit = slots.acquire(uid).await;
                tx.send(uid).unwrap();
                // Hold the slot briefly so that the next grant happens on release.
                tokio::time::sleep(Duration::from_millis(5)).await;
                drop(permit);
            }));
            // Queue in a known order.
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        drop(tx);
        let mut order = Vec::new();
        while let Some(uid) = rx.recv().await {
            order.push(uid);
        }
        for t in tasks {
            t.await.unwrap();
        }
        order
    }

    #[tokio::test]
    async fn a_new_account_goes_before_another_accounts_backlog() {
        let slots = RenderSlots::new(1);
        let busy = slots.acquire(1).await;
        let waiting = {
            let slots = slots.clone();
            tokio::spawn(async move { granted_order(&slots, &[1, 1, 1, 1, 2]).await })
        };
        tokio::time::sleep(Duration::from_millis(50)).await;
        drop(busy);
        let order = tokio::time::timeout(Duration::from_secs(10), waiting)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            order,
            vec![2, 1, 1, 1, 1],
            "account 2 waited only for the running render"
        );
    }

    #[tokio::test]
    async fn accounts_take_turns() {
        let slots = RenderSlots::new(1);
        let busy = slots.acquire(9).await;
        let waiting = {
            let slots = slots.clone();
            tokio::spawn(async move { granted_order(&slots, &[1, 1, 1, 2, 2, 3]).await })
        };
        tokio::time::sleep(Duration::from_millis(50)).await;
        drop(busy);
        let order = tokio::time::timeout(Duration::from_secs(10), waiting)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(order, vec![1, 2, 3, 1, 2, 1]);
    }

    #[tokio::test]
    async fn a_cancelled_wait_neither_leaks_nor_blocks_a_slot() {
        let slots = RenderSlots::new(1);
        let busy = slots.acquire(1).await;
        let cancelled = tokio::time::timeout(Duration::from_millis(20), slots.acquire(2)).await;
        assert!(cancelled.is_err(), "no slot was free");
        drop(busy);
        assert_eq!(slots.available(), 1);
        let again = tokio::time::timeout(Duration::from_secs(5), slots.acquire(3))
            .await
            .expect("the slot is free again");
        drop(again);
        assert_eq!(slots.available(), 1);
    }

    #[tokio::test]
    async fn slots_are_never_handed_out_twice() {
        let slots = RenderSlots::new(2);
        let running = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let most = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let mut tasks = Vec::new();
        for n in 0..40i64 {
            let (slots, running, most) = (slots.clone(), running.clone(), most.clone());
            tasks.push(tokio::spawn(async move {
                let _permit = slots.acquire(n % 5).await;
                let now = running.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
                most.fetch_max(now, std::sync::atomic::Ordering::SeqCst);
                tokio::task::yield_now().await;
                running.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        assert!(most.load(std::sync::atomic::Ordering::SeqCst) <= 2);
        assert_eq!(slots.available(), 2);
    }
}
