//! The ComfyUI servers and their free job slots (`max_jobs` each). A job goes to the server with
//! the most free slots; a server that just failed (refused, 5xx) is passed over for
//! `server_cooldown_secs`, so its jobs move to the others.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore};

use super::client::ComfyClient;

pub struct Pool {
    servers: Vec<Server>,
    freed: Arc<Notify>,
    cooldown: Duration,
}

struct Server {
    client: ComfyClient,
    slots: Arc<Semaphore>,
    resting_until: Mutex<Option<Instant>>,
}

/// A job slot on one server, given back when dropped.
pub struct Slot {
    pub index: usize,
    pub client: ComfyClient,
    _permit: OwnedSemaphorePermit,
    freed: Arc<Notify>,
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.freed.notify_waiters();
    }
}

impl Pool {
    pub fn new(servers: Vec<(ComfyClient, usize)>, cooldown: Duration) -> Pool {
        Pool {
            servers: servers
                .into_iter()
                .map(|(client, max_jobs)| Server {
                    client,
                    slots: Arc::new(Semaphore::new(max_jobs.max(1))),
                    resting_until: Mutex::new(None),
                })
                .collect(),
            freed: Arc::new(Notify::new()),
            cooldown,
        }
    }

    /// A slot on the least busy server not in `tried` and not resting; waits while they are
    /// all busy. `None` when every server was tried or is resting.
    pub async fn slot(&self, tried: &[usize]) -> Option<Slot> {
        loop {
            // Registered before looking, so a slot freed meanwhile still wakes us.
            let freed = self.freed.notified();
            let now = Instant::now();
            let usable: Vec<usize> = (0..self.servers.len())
                .filter(|i| !tried.contains(i) && !self.servers[*i].is_resting(now))
                .collect();
            if usable.is_empty() {
                return None;
            }
            let best = usable
                .iter()
                .copied()
                .max_by_key(|i| self.servers[*i].slots.available_permits());
            if let Some(index) = best {
                let server = &self.servers[index];
                if let Ok(permit) = server.slots.clone().try_acquire_owned() {
                    return Some(Slot {
                        index,
                        client: server.client.clone(),
                        _permit: permit,
                        freed: self.freed.clone(),
                    });
                }
            }
            // A resting server comes back by itself, without a slot being freed.
            let _ = tokio::time::timeout(Duration::from_secs(1), freed).await;
        }
    }

    /// `index` failed: pass it over for a while.
    pub fn rest(&self, index: usize) {
        if let Some(server) = self.servers.get(index) {
            *server.resting_until.lock().expect("not poisoned") =
                Some(Instant::now() + self.cooldown);
        }
    }
}

impl Server {
    fn is_resting(&self, now: Instant) -> bool {
        self.resting_until
            .lock()
            .expect("not poisoned")
            .is_some_and(|until| until > now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ComfyServer;

    fn client(port: u16) -> ComfyClient {
        let server = ComfyServer {
            url: format!("http://127.0.0.1:{port}"),
            max_jobs: 1,
            headers: Default::default(),
        };
        ComfyClient::new(&server, reqwest::Client::new(), "s").unwrap()
    }

    #[tokio::test]
    async fn jobs_spread_over_servers_wait_for_a_free_slot_and_skip_resting_ones() {
        let pool = Pool::new(
            vec![(client(1), 1), (client(2), 2)],
            Duration::from_secs(60),
        );
        let a = pool.slot(&[]).await.unwrap();
        assert_eq!(a.index, 1, "the server with the most free slots first");
        let b = pool.slot(&[]).await.unwrap();
        let c = pool.slot(&[]).await.unwrap();
        let mut taken = vec![a.index, b.index, c.index];
        taken.sort();
        assert_eq!(taken, [0, 1, 1]);
        let waiting = pool.slot(&[]);
        tokio::pin!(waiting);
        assert!(
            tokio::time::timeout(Duration::from_millis(100), &mut waiting)
                .await
                .is_err(),
            "every slot is taken"
        );
        let freed = c.index;
        drop(c);
        let d = tokio::time::timeout(Duration::from_secs(5), waiting)
            .await
            .expect("a freed slot is handed on")
            .unwrap();
        assert_eq!(d.index, freed);
        drop((a, b, d));
        pool.rest(1);
        assert_eq!(pool.slot(&[]).await.unwrap().index, 0);
        assert!(pool.slot(&[0]).await.is_none(), "0 tried, 1 resting");
    }
}
