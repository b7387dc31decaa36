//! One round under load: deleters and creators against render workers (some with a lease
//! shorter than their renders, so the reaper takes it back and fencing must hold), the reaper
//! and the file sweeper, all at once. Then the load stops, the queue drains and the background
//! stops, all within the round's time limit: a round that does not quiesce is a failed check,
//! never a hang.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use i2v::jobs;
use i2v::outbox;
use rand::rngs::StdRng;
use rand::SeedableRng;
use tokio::task::JoinSet;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::actors::{creator, deleter, poller, Stage};
use super::steering::{finish_emulated, steerer};

/// How much of everything one round runs.
pub struct Plan {
    pub deleters: usize,
    pub deletes_each: usize,
    pub creators: usize,
    pub creates_each: usize,
    pub workers: usize,
    pub hasty_workers: usize,
    /// Operators using the emulator controls, and calls each.
    pub steerers: usize,
    pub steers_each: usize,
    /// Pollers (resultsByIds' reads) and polls each.
    pub pollers: usize,
    pub polls_each: usize,
    /// The account one operator resets during the round.
    pub reset: Option<i64>,
    pub time_limit: Duration,
}

/// A hasty worker's lease: shorter than many renders (see `QuickRenderer`), and it heartbeats
/// too late to keep it.
const HASTY_LEASE: Duration = Duration::from_millis(15);
const HASTY_HEARTBEAT: Duration = Duration::from_secs(1);
const SWEEP_EVERY: Duration = Duration::from_millis(20);
/// Most time the background gets to stop once the queue is drained.
const STOP_LIMIT: Duration = Duration::from_secs(10);

/// Runs the round; `Err` says how it failed to quiesce in time.
pub async fn run(stage: Arc<Stage>, plan: &Plan, seed: u64) -> Result<(), String> {
    let deadline = Instant::now() + plan.time_limit;
    let mut stop = CancellationToken::new();
    let mut background = start_background(&stage, plan, &stop);
    let mut load = JoinSet::new();
    for n in 0..plan.deleters {
        let (stage, rng) = (stage.clone(), StdRng::seed_from_u64(seed ^ n as u64));
        let each = plan.deletes_each;
        load.spawn(async move { deleter(&stage, rng, each).await });
    }
    for n in 0..plan.creators {
        let (stage, rng) = (stage.clone(), StdRng::seed_from_u64(!seed ^ n as u64));
        let each = plan.creates_each;
        load.spawn(async move { creator(&stage, rng, each).await });
    }
    for n in 0..plan.steerers {
        let (stage, rng) = (
            stage.clone(),
            StdRng::seed_from_u64(seed.rotate_left(7) ^ n as u64),
        );
        let (each, reset) = (plan.steers_each, plan.reset.filter(|_| n == 0));
        load.spawn(async move { steerer(&stage, rng, each, reset).await });
    }
    for n in 0..plan.pollers {
        let (stage, rng) = (
            stage.clone(),
            StdRng::seed_from_u64(seed.rotate_left(17) ^ n as u64),
        );
        let each = plan.polls_each;
        load.spawn(async move { poller(&stage, rng, each).await });
    }
    join_by(
        &mut load,
        deadline,
        "the deleters, creators, operators and pollers",
    )
    .await?;
    // Manual and stuck videos move only when told to: the operators' last job.
    let targets: Vec<_> = stage.targets.lock().unwrap().iter().map(|t| t.0).collect();
    within(deadline, finish_emulated(&stage, &targets), || {
        "emulated videos did not finish in time".to_owned()
    })
    .await?;
    // SQLite's queue_depth counts queued and processing in two statements, so a render handed
    // back between them reads as an empty queue. Only a count taken with everything stopped is
    // trusted; if work is left, the background starts again.
    loop {
        let drained = drained(&stage, deadline).await;
        stop.cancel();
        let stopped = join_by(&mut background, Instant::now() + STOP_LIMIT, "the workers").await;
        drained.and(stopped)?;
        match stage.app.store.queue_depth().await {
            Ok((0, 0)) => return Ok(()),
            Ok(_) if Instant::now() < deadline => {}
            Ok(depth) => return Err(format!("queue depth {depth:?} when time ran out")),
            Err(e) => return Err(format!("queue depth: {e}")),
        }
        stop = CancellationToken::new();
        background = start_background(&stage, plan, &stop);
    }
}

fn start_background(stage: &Arc<Stage>, plan: &Plan, stop: &CancellationToken) -> JoinSet<()> {
    let app = &stage.app;
    let mut set = JoinSet::new();
    for n in 0..plan.workers {
        set.spawn(jobs::run_worker(
            app.clone(),
            format!("race-w{n}"),
            stop.clone(),
        ));
    }
    let mut hasty = app.clone();
    let mut hasty_config = (*app.config).clone();
    hasty_config.jobs.lease = HASTY_LEASE;
    hasty_config.jobs.heartbeat = HASTY_HEARTBEAT;
    hasty.config = Arc::new(hasty_config);
    for n in 0..plan.hasty_workers {
        set.spawn(jobs::run_worker(
            hasty.clone(),
            format!("race-hasty{n}"),
            stop.clone(),
        ));
    }
    set.spawn(jobs::run_reaper(
        app.store.clone(),
        app.config.jobs.max_attempts,
        app.config.jobs.reap_interval,
        stop.clone(),
    ));
    // Timed videos move when their account's clock passes their times, as in the server.
    set.spawn(i2v::emulator::run(app.clone(), stop.clone()));
    let stage = stage.clone();
    set.spawn(i2v::periodic::every(SWEEP_EVERY, stop.clone(), move || {
        let stage = stage.clone();
        async move {
            if let Err(e) = outbox::sweep(stage.app.store.as_ref(), &stage.app.blobs).await {
                stage.errors.lock().unwrap().push(format!("sweep: {e}"));
            }
        }
    }));
    set
}

/// Waits for every task of `set` until `deadline`; aborts the rest past it.
async fn join_by(set: &mut JoinSet<()>, deadline: Instant, what: &str) -> Result<(), String> {
    let all = async {
        while let Some(done) = set.join_next().await {
            done.map_err(|e| format!("a task of {what} died: {e}"))?;
        }
        Ok(())
    };
    let verdict = within(deadline, all, || format!("{what} did not finish in time")).await;
    set.abort_all();
    verdict
}

/// Waits until nothing is queued or processing.
async fn drained(stage: &Stage, deadline: Instant) -> Result<(), String> {
    let store = stage.app.store.clone();
    let wait = async move {
        loop {
            match store.queue_depth().await {
                Ok((0, 0)) => return Ok(()),
                Ok(_) => tokio::time::sleep(Duration::from_millis(10)).await,
                Err(e) => return Err(format!("queue depth: {e}")),
            }
        }
    };
    let late = || "the queue did not drain in time".to_owned();
    within(deadline, wait, late).await
}

async fn within(
    deadline: Instant,
    work: impl Future<Output = Result<(), String>>,
    late: impl FnOnce() -> String,
) -> Result<(), String> {
    tokio::time::timeout_at(deadline, work)
        .await
        .unwrap_or_else(|_| Err(late()))
}
