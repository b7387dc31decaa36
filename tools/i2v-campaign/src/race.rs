//! Race campaign: many concurrent deleters, creators and render workers on the same ids,
//! in-process against the real store (SQLite, or PostgreSQL with `--database-url`), with the
//! real delete path, worker protocol, reaper and file sweeper. Each round starts fresh accounts
//! and videos, runs everything at once, lets it quiesce within a time limit and then checks
//! DESIGN §4's invariants twice over: on the order of store calls (`history`) and on the state
//! left behind (`audit`). Renders are stand-ins (`renderer`) so that a round takes about a second.

mod actors;
mod audit;
mod emulated;
mod findings;
mod history;
mod recorder;
mod renderer;
mod reset_check;
mod round;
mod steering;

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use i2v::config::Config;
use i2v::domain::emulation::Lifecycle;
use i2v::domain::spec::{parse_batch, parse_single};
use i2v::domain::ObjectId;
use i2v::domain::VideoKind;
use i2v::net::{NetPolicy, Outbound};
use i2v::service::{self, emulation, videos, Caller};
use i2v::App;
use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use serde_json::json;

use crate::database::{Database, Target};
use crate::tally::Tally;
use actors::Stage;
use history::History;
use recorder::{Event, FinishKind, Op, Recorder};

/// Every race account's initial grant (a reset brings the balance back to it).
const GRANT: i64 = 1_000_000;

#[derive(clap::Args)]
pub struct RaceArgs {
    /// Rounds to run; every one ends with a full audit.
    #[arg(long, default_value_t = 20)]
    rounds: usize,
    #[command(flatten)]
    target: Target,
    /// Seed of the random choices (default: random; printed). Thread timing still differs from
    /// run to run, so a seed narrows a replay down rather than repeating it exactly.
    #[arg(long)]
    seed: Option<u64>,
    /// New accounts per round.
    #[arg(long, default_value_t = 3)]
    accounts: usize,
    /// Videos created before the load starts, each round.
    #[arg(long, default_value_t = 30)]
    videos_per_round: usize,
    #[arg(long, default_value_t = 8)]
    deleters: usize,
    /// Delete requests per deleter per round.
    #[arg(long, default_value_t = 12)]
    deletes_each: usize,
    #[arg(long, default_value_t = 2)]
    creators: usize,
    /// Create requests per creator per round.
    #[arg(long, default_value_t = 4)]
    creates_each: usize,
    /// Render workers with a normal lease.
    #[arg(long, default_value_t = 3)]
    workers: usize,
    /// Render workers whose lease runs out during most renders (fencing).
    #[arg(long, default_value_t = 2)]
    hasty_workers: usize,
    /// Operators using the emulator controls (advance, outcomes, clocks, a reset).
    #[arg(long, default_value_t = 2)]
    steerers: usize,
    /// Control calls per operator per round.
    #[arg(long, default_value_t = 10)]
    steers_each: usize,
    /// Pollers reading the round's videos as their owners (resultsByIds' path) meanwhile.
    #[arg(long, default_value_t = 2)]
    pollers: usize,
    /// Polls per poller per round, each of up to 10 ids.
    #[arg(long, default_value_t = 20)]
    polls_each: usize,
    /// A round that has not quiesced after this long is a failed check.
    #[arg(long, default_value_t = 30)]
    round_secs: u64,
}

pub async fn run(args: RaceArgs) -> anyhow::Result<Tally> {
    let seed = args.seed.unwrap_or_else(rand::random);
    let tmp = tempfile::tempdir().context("cannot make a temp dir")?;
    let db = Database::prepare(&args.target).await?;
    let on = if db.url.is_some() {
        "PostgreSQL"
    } else {
        "SQLite"
    };
    println!("race campaign: {} rounds on {on}, seed {seed}", args.rounds);
    let mut tally = Tally::default();
    let outcome = async {
        let mut campaign = Campaign::open(&args, seed, tmp.path(), db.url.clone()).await?;
        for n in 1..=args.rounds {
            campaign.round(n, &mut tally).await?;
        }
        anyhow::Ok(())
    }
    .await;
    db.finish().await;
    outcome.map(|()| tally)
}

/// What lasts across rounds.
struct Campaign<'a> {
    args: &'a RaceArgs,
    seed: u64,
    app: App,
    recorder: Arc<Recorder>,
    history: History,
    callers: HashMap<i64, Caller>,
    owners: HashMap<ObjectId, i64>,
    /// Every video's `image_url`: a loopback host, since workers fetch inputs before rendering.
    image_url: String,
}

/// Serves the campaign's input image on a free loopback port (the quick renderer ignores its
/// bytes; the fetch is what the workers do before every render).
async fn serve_image() -> anyhow::Result<String> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}/race.png", listener.local_addr()?);
    let router = axum::Router::new().route(
        "/race.png",
        axum::routing::get(|| async { &b"\x89PNG race input"[..] }),
    );
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    Ok(url)
}

impl<'a> Campaign<'a> {
    async fn open(
        args: &'a RaceArgs,
        seed: u64,
        dir: &std::path::Path,
        database_url: Option<String>,
    ) -> anyhow::Result<Campaign<'a>> {
        let mut config = Config {
            data_dir: dir.join("data"),
            database_url: database_url.map(Into::into),
            blob_url: args.target.blob_url.as_deref().map(Into::into),
            workers: Some(0),
            ..Config::default()
        };
        // Short everything: leases the reaper takes back within a round, quick retries.
        config.jobs.lease = Duration::from_secs(2);
        config.jobs.heartbeat = Duration::from_millis(100);
        config.jobs.poll = Duration::from_millis(5);
        config.jobs.max_attempts = 4;
        config.jobs.reap_interval = Duration::from_millis(20);
        config.jobs.retry_base = Duration::from_millis(5);
        config.jobs.retry_max = Duration::from_millis(40);
        config.database.max_connections = 20;
        let image_url = serve_image().await?;
        let outbound = Outbound::new(NetPolicy {
            allow_private: true,
            connect_timeout: Duration::from_secs(1),
            timeout: Duration::from_secs(1),
            ..NetPolicy::default()
        });
        let renderer = Arc::new(renderer::QuickRenderer { seed });
        let mut app = App::build_with(config, renderer, outbound).await?;
        let recorder = Arc::new(Recorder::new(app.store.clone()));
        app.store = recorder.clone();
        Ok(Campaign {
            args,
            seed,
            app,
            recorder,
            history: History::default(),
            callers: HashMap::new(),
            owners: HashMap::new(),
            image_url,
        })
    }

    async fn round(&mut self, n: usize, tally: &mut Tally) -> anyhow::Result<()> {
        let started = Instant::now();
        let label = format!("round {n}");
        let seed = self.seed ^ ((n as u64) << 40);
        let (stage, reset) = self.stage(n, seed).await?;
        let stage = Arc::new(stage);
        let plan = round::Plan {
            deleters: self.args.deleters,
            deletes_each: self.args.deletes_each,
            creators: self.args.creators,
            creates_each: self.args.creates_each,
            workers: self.args.workers,
            hasty_workers: self.args.hasty_workers,
            steerers: self.args.steerers,
            steers_each: self.args.steers_each,
            pollers: self.args.pollers,
            polls_each: self.args.polls_each,
            reset,
            time_limit: Duration::from_secs(self.args.round_secs),
        };
        tally.check(
            &label,
            "the round quiesces in time",
            round::run(stage.clone(), &plan, seed).await,
        );
        self.owners
            .extend(stage.created.lock().unwrap().iter().copied());
        let errors = std::mem::take(&mut *stage.errors.lock().unwrap());
        tally.check(
            &label,
            "store and file calls succeed",
            findings::all_ok(errors),
        );
        let answers = std::mem::take(&mut *stage.answers.lock().unwrap());
        let shapes = answers
            .iter()
            .filter_map(|a| actors::check_answer(a, &self.owners).err());
        tally.check(
            &label,
            "delbyids names each id once in exactly one list",
            findings::all_ok(shapes.collect()),
        );

        if let Some(uid) = reset {
            tally.check(
                &label,
                "a reset leaves no video, callback, outcome, clock or lifecycle, and the grant",
                reset_check::reset_leaves_nothing(&self.app, uid, GRANT, &self.owners).await,
            );
        }

        let events = self.recorder.take();
        let before: HashSet<ObjectId> = self.history.removed().clone();
        for (what, verdict) in self.history.check(&events, &self.owners) {
            tally.check(&label, what, verdict);
        }
        let removed = self.history.removed();
        let mut deleted: HashSet<ObjectId> = self.history.deleted().copied().collect();
        deleted.extend(removed);
        let mut fresh: HashSet<ObjectId> = events.iter().flat_map(deleted_by).collect();
        fresh.extend(removed.difference(&before));
        let gone = audit::Gone {
            deleted: &deleted,
            fresh: &fresh,
            maybe: self.history.maybe_removed(),
        };
        let uids: Vec<i64> = self.callers.keys().copied().collect();
        for (what, verdict) in audit::audit(&self.app, &self.owners, &gone, &uids).await {
            tally.check(&label, what, verdict);
        }
        println!(
            "{label}/{}: {}, {:.1}s, {} failed checks so far",
            self.args.rounds,
            summary(&events, answers.len()),
            started.elapsed().as_secs_f64(),
            tally.failed()
        );
        Ok(())
    }

    /// New accounts and videos; the deleters aim at them and at a few videos of earlier rounds.
    /// Also returns the account one operator resets during the round: an emulated one.
    async fn stage(&mut self, round: usize, seed: u64) -> anyhow::Result<(Stage, Option<i64>)> {
        let mut rng = StdRng::seed_from_u64(seed);
        let app = &self.app;
        let mut fresh = Vec::new();
        for n in 0..self.args.accounts {
            let issued = service::accounts::create(app, "race", GRANT).await?;
            let uid = issued.account.uid;
            let lifecycle = steering::lifecycle(round, n, self.args.accounts);
            if lifecycle != Lifecycle::Render {
                emulation::set_lifecycle(app, uid, lifecycle).await?;
                emulation::push_outcomes(app, uid, &steering::outcomes()).await?;
            }
            let caller = Caller {
                uid: issued.account.uid,
                team_id: issued.account.team_id,
            };
            fresh.push(caller.clone());
            self.callers.insert(caller.uid, caller);
        }
        // Odd rounds reset the emulated account, even ones an account that renders.
        let reset = match fresh.len() {
            0 | 1 => None,
            n => Some(fresh[if round % 2 == 1 { n - 1 } else { 1 }].uid),
        };
        let body = json!({
            // Never called (no dispatcher runs), but it makes every status change write a
            // callback record, which deletes and resets must take away.
            "webhookurl": format!("{}/hook", self.image_url),
            "image_url": self.image_url,
            "prompt": "race",
            "resolution": "720p",
            "audio_type": 3,
            "video_length": 5,
        });
        let single = parse_single(&body, app.catalogue).map_err(|e| anyhow::anyhow!("{e}"))?;
        let (batch, _) = parse_batch(&body, app.catalogue).map_err(|e| anyhow::anyhow!("{e}"))?;
        let mut created = Vec::new();
        while created.len() < self.args.videos_per_round {
            let caller = fresh
                .choose(&mut rng)
                .context("--accounts must be at least 1")?;
            let count = rng
                .random_range(1..=5)
                .min(self.args.videos_per_round - created.len());
            let made = videos::create(app, caller, &batch, count as i64, VideoKind::Batch).await?;
            created.extend(made.iter().map(|v| (v.id, v.uid)));
        }
        let old: Vec<(ObjectId, i64)> = self.owners.iter().map(|(id, uid)| (*id, *uid)).collect();
        self.owners.extend(created.iter().copied());
        let mut targets = created;
        targets.extend(old.choose_multiple(&mut rng, 6).copied());
        Ok((
            Stage {
                app: app.clone(),
                callers: self.callers.clone(),
                single,
                batch,
                targets: Mutex::new(targets),
                created: Mutex::new(Vec::new()),
                answers: Mutex::new(Vec::new()),
                errors: Mutex::new(Vec::new()),
            },
            reset,
        ))
    }
}

fn deleted_by(e: &Event) -> Vec<ObjectId> {
    match &e.op {
        Op::Delete { deleted, .. } => deleted.clone(),
        _ => Vec::new(),
    }
}

/// What the round did, for the progress line.
fn summary(events: &[Event], answers: usize) -> String {
    let (mut requests, mut deleted, mut processing, mut claims) = (0, 0, 0, 0);
    let (mut completed, mut failed, mut fenced) = (0, 0, 0);
    let (mut steps, mut lost_steps, mut taken, mut resets) = (0, 0, 0, 0);
    for e in events {
        match &e.op {
            Op::Step { ok: true, .. } => steps += 1,
            Op::Step { ok: false, .. } => lost_steps += 1,
            Op::TakeOver { .. } => taken += 1,
            Op::Reset { .. } => resets += 1,
            Op::Delete {
                deleted: d,
                processing: p,
                ..
            } => {
                requests += 1;
                deleted += d.len();
                processing += p.len();
            }
            Op::Claim { .. } => claims += 1,
            Op::Finish {
                kind: FinishKind::Complete,
                ok: true,
                ..
            } => completed += 1,
            Op::Finish {
                kind: FinishKind::Fail,
                ok: true,
                ..
            } => failed += 1,
            Op::Finish { ok: false, .. } => fenced += 1,
            _ => {}
        }
    }
    format!(
        "{requests} deletes ({answers} via delbyids): {deleted} deleted, {processing} refused as processing; \
         {claims} claims: {completed} completed, {failed} failed, {fenced} fenced off; \
         emulator: {steps} steps ({lost_steps} lost a race), {taken} take-overs, {resets} resets"
    )
}
