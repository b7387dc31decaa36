//! Benchmark data, written straight through the store with the same calls the service makes
//! (`service::accounts::create`, `service::videos::create` -> `Store::create_videos`), in big
//! transactions, so a million videos take seconds instead of a million HTTP calls. Videos are
//! charged (`deduction_credit` from the real price list), so deletes have ledger rows to forget.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::Context;
use hyper::header::HeaderValue;
use i2v::clock::now_ms;
use i2v::domain::spec::{self, VideoSpec};
use i2v::domain::ObjectId;
use i2v::domain::VideoKind;
use i2v::service::{self, Caller};
use i2v::store::{Completion, ForcedStatus, HOLD_OWNER};
use i2v::{App, Config};
use serde_json::json;

/// Videos per `create_videos` transaction.
const CHUNK: usize = 5_000;
/// Enough credits that no benchmark ever runs out.
const CREDITS: i64 = 1_000_000_000_000;

/// A bench account and the API key the load generator sends for it.
pub struct Tenant {
    pub caller: Caller,
    pub api_key: HeaderValue,
    /// What authentication looks the key up by.
    pub key_hash: String,
}

/// Opens the store the server will use (running migrations), from this process.
pub async fn open(data_dir: &Path, database_url: Option<&str>) -> anyhow::Result<App> {
    App::build(Config {
        data_dir: data_dir.to_path_buf(),
        database_url: database_url.map(Into::into),
        workers: Some(0),
        ..Config::default()
    })
    .await
}

/// The body `createBySourcePrompt` gets in the benchmark: 720p, 5 s, no audio.
pub fn create_body() -> serde_json::Value {
    json!({
        "image_url": "https://example.com/in/beach.png",
        "prompt": "Waves crash along the shore while the camera drifts.",
        "negative_prompt": "",
        "resolution": "720p",
        "audio_type": 3,
        "video_length": 5
    })
}

/// The spec `create_body` parses to.
pub fn spec(app: &App) -> anyhow::Result<VideoSpec> {
    spec::parse_single(&create_body(), app.catalogue).map_err(|e| anyhow::anyhow!("{e:?}"))
}

pub async fn tenants(app: &App, n: usize) -> anyhow::Result<Vec<Tenant>> {
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let issued = service::accounts::create(app, &format!("bench-{i}"), CREDITS)
            .await
            .map_err(|e| anyhow::anyhow!("creating an account: {e}"))?;
        out.push(Tenant {
            caller: Caller {
                uid: issued.account.uid,
                team_id: issued.account.team_id,
            },
            api_key: HeaderValue::from_str(&issued.client_secret)?,
            key_hash: i2v::keys::hash_secret(&issued.client_secret),
        });
    }
    Ok(out)
}

/// `count` queued videos of one tenant, in transactions of `CHUNK`.
pub async fn videos(app: &App, tenant: &Tenant, count: usize) -> anyhow::Result<Vec<ObjectId>> {
    let spec = spec(app)?;
    let mut ids = Vec::with_capacity(count);
    let mut left = count;
    while left > 0 {
        let n = left.min(CHUNK);
        let created =
            service::videos::create(app, &tenant.caller, &spec, n as i64, VideoKind::Single)
                .await
                .map_err(|e| anyhow::anyhow!("seeding videos: {e}"))?;
        ids.extend(created.iter().map(|v| v.id));
        left -= n;
    }
    Ok(ids)
}

/// `rows` queued videos spread evenly over the tenants; returns how long it took.
pub async fn resident(app: &App, tenants: &[Tenant], rows: usize) -> anyhow::Result<Duration> {
    let started = Instant::now();
    let each = rows / tenants.len();
    for (i, tenant) in tenants.iter().enumerate() {
        let extra = usize::from(i < rows % tenants.len());
        videos(app, tenant, each + extra).await?;
    }
    Ok(started.elapsed())
}

/// Groups of `per_call` ids of one tenant (index into `tenants`), tenants interleaved.
pub async fn deletable(
    app: &App,
    tenants: &[Tenant],
    total: usize,
    per_call: usize,
) -> anyhow::Result<Vec<(usize, Vec<ObjectId>)>> {
    let calls_each = (total / per_call / tenants.len()).max(1);
    let mut per_tenant = Vec::with_capacity(tenants.len());
    for tenant in tenants {
        let ids = videos(app, tenant, calls_each * per_call).await?;
        per_tenant.push(ids.chunks(per_call).map(<[_]>::to_vec).collect::<Vec<_>>());
    }
    Ok(interleave(per_tenant))
}

/// Every status a results call can show: of each four videos one stays queued (1), one is held
/// as processing (2), one is completed with an output (3) and one failed with a reason (4).
/// Returns groups of `per_call` ids of one tenant.
pub async fn results_set(
    app: &App,
    tenants: &[Tenant],
    per_tenant: usize,
    per_call: usize,
) -> anyhow::Result<Vec<(usize, Vec<ObjectId>)>> {
    let mut groups = Vec::with_capacity(tenants.len());
    for tenant in tenants {
        let ids = videos(app, tenant, per_tenant).await?;
        for (i, id) in ids.iter().enumerate() {
            shape(app, *id, i % 4).await?;
        }
        groups.push(ids.chunks(per_call).map(<[_]>::to_vec).collect::<Vec<_>>());
    }
    Ok(interleave(groups))
}

async fn shape(app: &App, id: ObjectId, which: usize) -> anyhow::Result<()> {
    let store = &app.store;
    let now = now_ms();
    match which {
        1 => {
            store.force_status(id, ForcedStatus::Hold, now).await?;
        }
        2 => {
            // Held videos carry the admin lease owner, which is what completion is fenced on.
            store.force_status(id, ForcedStatus::Hold, now).await?;
            let done = Completion {
                id,
                owner: HOLD_OWNER.to_owned(),
                blob_key: format!("videos/{id}/bench.mp4"),
                video_duration: 5.0,
            };
            let completed = store.complete(done, now).await?;
            anyhow::ensure!(completed, "seeding: completing {id} lost its lease");
        }
        3 => {
            let reason = "image could not be fetched: HTTP 404".to_owned();
            store
                .force_status(id, ForcedStatus::Fail(reason), now)
                .await?
                .context("seeding: video vanished")?;
        }
        _ => {}
    }
    Ok(())
}

/// Round-robin over the tenants' lists, tagging each item with its tenant's index.
fn interleave<T>(per_tenant: Vec<Vec<T>>) -> Vec<(usize, T)> {
    let mut iters: Vec<_> = per_tenant.into_iter().map(Vec::into_iter).collect();
    let mut out = Vec::new();
    loop {
        let before = out.len();
        for (t, it) in iters.iter_mut().enumerate() {
            if let Some(item) = it.next() {
                out.push((t, item));
            }
        }
        if out.len() == before {
            return out;
        }
    }
}
