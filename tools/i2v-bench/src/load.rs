//! A closed-loop load generator. Each of `n` lanes sends one call, waits for the whole answer,
//! records its latency and sends the next; the calls come from one shared list of work items.
//! HTTP lanes hold one keep-alive HTTP/1.1 connection each on hyper's bare client connection (no
//! pool, no retries: nothing between the timer and the socket). Every answer is checked, so a
//! case whose calls did not do the intended work reports errors instead of flattering figures.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use bytes::Bytes;
use hdrhistogram::Histogram;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper::header::{HeaderValue, AUTHORIZATION, CONTENT_TYPE, HOST};
use hyper::{Method, Request, StatusCode};
use hyper_util::rt::TokioIo;
use serde::de::IgnoredAny;
use serde::Deserialize;
use tokio::task::JoinSet;

/// One caller that can make one kind of call.
#[async_trait]
pub trait Lane: Send + 'static {
    type Item: Send + Sync + 'static;
    /// Makes one call; `Ok(false)` when the answer was not the expected one.
    async fn call(&mut self, item: &Self::Item) -> anyhow::Result<bool>;
}

/// The items of one run, handed out in order; `cycle` starts over at the end instead of stopping.
pub struct Work<I> {
    items: Vec<I>,
    next: AtomicUsize,
    cycle: bool,
}

impl<I> Work<I> {
    pub fn once(items: Vec<I>) -> Arc<Self> {
        Arc::new(Work {
            items,
            next: AtomicUsize::new(0),
            cycle: false,
        })
    }

    pub fn cycling(items: Vec<I>) -> Arc<Self> {
        assert!(!items.is_empty(), "nothing to cycle over");
        Arc::new(Work {
            items,
            next: AtomicUsize::new(0),
            cycle: true,
        })
    }

    fn take(&self) -> Option<&I> {
        let i = self.next.fetch_add(1, Ordering::Relaxed);
        match self.cycle {
            true => Some(&self.items[i % self.items.len()]),
            false => self.items.get(i),
        }
    }
}

/// What a run did: calls, unexpected answers, measured wall time and per-call latency (µs).
pub struct Tally {
    pub calls: u64,
    pub errors: u64,
    pub first_error: Option<String>,
    pub elapsed: Duration,
    /// CPU time the server process used while this ran (HTTP cases).
    pub server_cpu: Option<Duration>,
    /// CPU time the store's own processes used meanwhile (PostgreSQL).
    pub store_cpu: Option<Duration>,
    latency: Histogram<u64>,
}

impl Tally {
    fn new() -> Self {
        Tally {
            calls: 0,
            errors: 0,
            first_error: None,
            elapsed: Duration::ZERO,
            server_cpu: None,
            store_cpu: None,
            // 1 µs .. 10 min at 3 significant digits.
            latency: Histogram::new_with_bounds(1, 600_000_000, 3).expect("valid bounds"),
        }
    }

    /// Adds another tally's calls; elapsed times add up (runs are sequential).
    fn absorb(&mut self, other: Tally) {
        self.calls += other.calls;
        self.errors += other.errors;
        self.first_error = self.first_error.take().or(other.first_error);
        self.elapsed += other.elapsed;
        self.latency.add(other.latency).expect("same bounds");
    }

    pub fn per_second(&self) -> f64 {
        self.calls as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    /// Server CPU per call, when known.
    pub fn cpu_per_call(&self) -> Option<Duration> {
        self.server_cpu.map(|cpu| self.per_call(cpu))
    }

    /// Store CPU per call, when known.
    pub fn store_cpu_per_call(&self) -> Option<Duration> {
        self.store_cpu.map(|cpu| self.per_call(cpu))
    }

    fn per_call(&self, total: Duration) -> Duration {
        total / u32::try_from(self.calls.max(1)).unwrap_or(u32::MAX)
    }

    pub fn percentile_ms(&self, q: f64) -> f64 {
        self.latency.value_at_quantile(q) as f64 / 1000.0
    }
}

/// Runs every lane over `work` until the work is used up or `deadline` passes; gives the lanes
/// back so that their connections outlive the run.
pub async fn run<L: Lane>(
    lanes: Vec<L>,
    work: Arc<Work<L::Item>>,
    deadline: Instant,
) -> anyhow::Result<(Vec<L>, Tally)> {
    let started = Instant::now();
    let mut set = JoinSet::new();
    for lane in lanes {
        set.spawn(drive(lane, work.clone(), deadline));
    }
    let mut tally = Tally::new();
    let mut back = Vec::new();
    while let Some(done) = set.join_next().await {
        let (lane, lane_tally) = done?;
        back.push(lane);
        tally.absorb(lane_tally);
    }
    tally.elapsed = started.elapsed();
    Ok((back, tally))
}

/// Measures `measure` of work delivered in rounds: `next_round` prepares each round's items
/// outside the timer (e.g. fresh videos to delete, so every call does real work).
pub async fn in_rounds<L, F, Fut>(
    mut lanes: Vec<L>,
    measure: Duration,
    mut next_round: F,
) -> anyhow::Result<(Vec<L>, Tally)>
where
    L: Lane,
    F: FnMut() -> Fut,
    Fut: Future<Output = anyhow::Result<Vec<L::Item>>>,
{
    let mut total = Tally::new();
    while total.elapsed < measure {
        let items = next_round().await?;
        let deadline = Instant::now() + (measure - total.elapsed);
        let (back, tally) = run(lanes, Work::once(items), deadline).await?;
        lanes = back;
        total.absorb(tally);
    }
    Ok((lanes, total))
}

async fn drive<L: Lane>(mut lane: L, work: Arc<Work<L::Item>>, deadline: Instant) -> (L, Tally) {
    let mut tally = Tally::new();
    while Instant::now() < deadline {
        let Some(item) = work.take() else { break };
        let sent = Instant::now();
        let answer = lane.call(item).await;
        tally
            .latency
            .saturating_record(sent.elapsed().as_micros() as u64);
        tally.calls += 1;
        let problem = match answer {
            Ok(true) => None,
            Ok(false) => Some("unexpected answer".to_owned()),
            Err(e) => Some(format!("{e:#}")),
        };
        if let Some(problem) = problem {
            tally.errors += 1;
            tally.first_error.get_or_insert(problem);
        }
    }
    (lane, tally)
}

/// What an HTTP answer must look like to count as done.
#[derive(Clone, Copy, Debug)]
pub enum Expect {
    /// HTTP 200, any body.
    Status200,
    /// Akool `code` 1000.
    Success,
    /// `code` 1000 and exactly this many `successIds` (delbyids).
    Deleted(usize),
    /// `code` 1000 and exactly this many records (resultsByIds).
    Results(usize),
    /// `code` 1000 and a record with this `status` (createBySourcePrompt).
    Status(i64),
    /// `code` 1000 and exactly this many `ids` (admin seed).
    Ids(usize),
}

#[derive(Deserialize)]
struct Envelope {
    code: i64,
    #[serde(default)]
    data: Option<Data>,
}

#[derive(Deserialize)]
struct Data {
    #[serde(rename = "successIds", default)]
    success_ids: Vec<IgnoredAny>,
    #[serde(default)]
    result: Vec<IgnoredAny>,
    #[serde(default)]
    status: Option<i64>,
    #[serde(default)]
    ids: Vec<IgnoredAny>,
}

impl Expect {
    fn accepts(self, status: StatusCode, body: &[u8]) -> bool {
        if status != StatusCode::OK {
            return false;
        }
        if let Expect::Status200 = self {
            return true;
        }
        let Ok(envelope) = serde_json::from_slice::<Envelope>(body) else {
            return false;
        };
        let data = envelope.data.as_ref();
        envelope.code == 1000
            && match self {
                Expect::Status200 | Expect::Success => true,
                Expect::Deleted(n) => data.is_some_and(|d| d.success_ids.len() == n),
                Expect::Results(n) => data.is_some_and(|d| d.result.len() == n),
                Expect::Status(s) => data.is_some_and(|d| d.status == Some(s)),
                Expect::Ids(n) => data.is_some_and(|d| d.ids.len() == n),
            }
    }
}

/// One HTTP request to send: method, path, credential (if any) and body.
pub struct HttpCall {
    pub method: Method,
    pub path: String,
    pub auth: Option<Auth>,
    pub body: Bytes,
}

/// How a call proves who it is.
#[derive(Clone)]
pub enum Auth {
    /// An account's API key (`x-api-key`).
    ApiKey(HeaderValue),
    /// The admin token, as a whole `Authorization` value (`Bearer ...`).
    Admin(HeaderValue),
}

pub struct HttpLane {
    addr: SocketAddr,
    host: HeaderValue,
    expect: Expect,
    conn: Option<SendRequest<Full<Bytes>>>,
}

impl HttpLane {
    /// `n` lanes, each with its own open connection to `addr`.
    pub async fn open(addr: SocketAddr, n: usize, expect: Expect) -> anyhow::Result<Vec<Self>> {
        let mut lanes = Vec::with_capacity(n);
        for _ in 0..n {
            let mut lane = HttpLane {
                addr,
                host: HeaderValue::from_str(&addr.to_string())?,
                expect,
                conn: None,
            };
            lane.conn = Some(connect(addr).await?);
            lanes.push(lane);
        }
        Ok(lanes)
    }

    /// The same connections, checking answers differently.
    pub fn expecting(mut lanes: Vec<Self>, expect: Expect) -> Vec<Self> {
        for lane in &mut lanes {
            lane.expect = expect;
        }
        lanes
    }
}

async fn connect(addr: SocketAddr) -> anyhow::Result<SendRequest<Full<Bytes>>> {
    let stream = tokio::net::TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(connection);
    Ok(sender)
}

#[async_trait]
impl Lane for HttpLane {
    type Item = HttpCall;

    async fn call(&mut self, call: &HttpCall) -> anyhow::Result<bool> {
        // A connection the server closed is replaced, and the call that found it counts as failed.
        let sender = match self.conn.as_mut() {
            Some(sender) => sender,
            None => self.conn.insert(connect(self.addr).await?),
        };
        let mut request = Request::builder()
            .method(call.method.clone())
            .uri(call.path.as_str())
            .header(HOST, self.host.clone());
        if !call.body.is_empty() {
            request = request.header(CONTENT_TYPE, "application/json");
        }
        match &call.auth {
            Some(Auth::ApiKey(key)) => request = request.header("x-api-key", key.clone()),
            Some(Auth::Admin(bearer)) => request = request.header(AUTHORIZATION, bearer.clone()),
            None => {}
        }
        let request = request.body(Full::new(call.body.clone()))?;
        let answer = async {
            sender.ready().await?;
            let response = sender.send_request(request).await?;
            let status = response.status();
            let body = response.into_body().collect().await?.to_bytes();
            anyhow::Ok((status, body))
        }
        .await;
        match answer {
            // The answer itself is the evidence when it is not the expected one.
            Ok((status, body)) if !self.expect.accepts(status, &body) => {
                let text = String::from_utf8_lossy(&body);
                let head: String = text.chars().take(1000).collect();
                anyhow::bail!("unexpected answer: HTTP {status}: {head}")
            }
            Ok(_) => Ok(true),
            Err(e) => {
                self.conn = None;
                Err(e)
            }
        }
    }
}
