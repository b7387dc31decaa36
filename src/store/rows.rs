//! Reading stored rows into the types that cross the `Store` trait, once for every backend:
//! SQLite and PostgreSQL name and type their columns alike (the migrations keep them in step).
//! Videos go through a private row type in both directions, so the domain's `Video` never
//! knows how it is stored.

use std::sync::LazyLock;

use sqlx::query::Query;
use sqlx::{ColumnIndex, Database, Decode, Encode, FromRow, Row, Type};

use super::journal_body::StoredBody;
use super::{
    Account, AuthRecord, BlobDeletion, JournalEntry, StoreError, StoreResult, WebhookAttempt,
    WebhookDelivery,
};
use crate::domain::catalogue::Resolution;
use crate::domain::video::{AudioType, EffectChoice, ModelName, Video, VideoKind};
use crate::domain::{ObjectId, VideoStatus};

fn backend(msg: String) -> StoreError {
    StoreError::Backend(msg.into())
}

pub(super) fn object_id(stored: &str) -> StoreResult<ObjectId> {
    ObjectId::parse(stored)
        .ok_or_else(|| backend(format!("stored _id {stored:?} is not an ObjectId")))
}

/// A stored video, whichever backend: from `SELECT *` or `RETURNING *` of `videos`.
pub(super) fn video<'r, R>(row: &'r R) -> StoreResult<Video>
where
    R: Row,
    VideoRow: FromRow<'r, R>,
{
    VideoRow::from_row(row)?.into_video()
}

/// A stored video read by SQLite's read path: a row of `SELECT {VIDEO_SELECT_LIST} FROM videos`.
pub(super) fn video_from_rusqlite(row: &rusqlite::Row<'_>) -> StoreResult<Video> {
    VideoRow::from_rusqlite(row)?.into_video()
}

/// The columns of a video, comma-separated, in the order `video_from_rusqlite` reads them.
pub(super) fn video_select_list() -> &'static str {
    static LIST: LazyLock<String> = LazyLock::new(|| VideoRow::COLUMNS.join(", "));
    LIST.as_str()
}

/// The INSERT of a new video into the queue, as `uid` was charged for it; the same statement for
/// every backend (`$n` placeholders, which SQLite reads too).
pub(super) fn insert_video<DB>(uid: i64, video: &Video) -> Query<'static, DB, DB::Arguments>
where
    DB: Database,
    VideoRow: Bind<DB>,
{
    let row = VideoRow {
        uid,
        status: VideoStatus::Queued.code(),
        blob_key: None,
        video_duration: None,
        error_reason: None,
        attempts: 0,
        ..VideoRow::of(video)
    };
    row.bind(sqlx::query(insert_sql()))
}

/// The INSERT of a record as it is (status, output, error): seeding, which charges nothing.
pub(super) fn insert_record<DB>(uid: i64, video: &Video) -> Query<'static, DB, DB::Arguments>
where
    DB: Database,
    VideoRow: Bind<DB>,
{
    VideoRow {
        uid,
        ..VideoRow::of(video)
    }
    .bind(sqlx::query(insert_sql()))
}

/// `INSERT INTO videos (<every VideoRow column>) VALUES ($1, ..)`, written once.
fn insert_sql() -> &'static str {
    static SQL: LazyLock<String> = LazyLock::new(|| {
        let params: Vec<String> = (1..=VideoRow::COLUMNS.len())
            .map(|n| format!("${n}"))
            .collect();
        format!(
            "INSERT INTO videos ({}) VALUES ({})",
            VideoRow::COLUMNS.join(", "),
            params.join(", ")
        )
    });
    SQL.as_str()
}

/// Declares `VideoRow`, the `videos` columns a [`Video`] is kept in, with what every backend
/// needs of that list: reading a row (`FromRow`), the column names and binding the values in
/// their order. A new column is a line here and one in each conversion below.
macro_rules! video_columns {
    ($($column:ident: $ty:ty,)*) => {
        #[derive(sqlx::FromRow)]
        pub(super) struct VideoRow {
            $($column: $ty,)*
        }

        impl VideoRow {
            const COLUMNS: &'static [&'static str] = &[$(stringify!($column)),*];

            /// A row selected as `COLUMNS`, in that order, through SQLite's read path
            /// (`sqlite::readers`), which reads with rusqlite instead of sqlx.
            fn from_rusqlite(row: &rusqlite::Row<'_>) -> rusqlite::Result<VideoRow> {
                let mut index = 0usize..;
                Ok(VideoRow {
                    $($column: row.get(index.next().unwrap_or_default())?,)*
                })
            }
        }

        /// Binding a `VideoRow` in `COLUMNS` order, for a backend that can encode every column.
        pub(super) trait Bind<DB: Database> {
            fn bind<'q>(self, query: Query<'q, DB, DB::Arguments>) -> Query<'q, DB, DB::Arguments>;
        }

        impl<DB: Database> Bind<DB> for VideoRow
        where
            $($ty: for<'e> Encode<'e, DB> + Type<DB>,)*
        {
            fn bind<'q>(self, query: Query<'q, DB, DB::Arguments>) -> Query<'q, DB, DB::Arguments> {
                query$(.bind(self.$column))*
            }
        }
    };
}

// Lease columns (`lease_owner`, `lease_until`, `run_after`) belong to the queue, not the record:
// an INSERT leaves them at their defaults and the video never shows them.
video_columns! {
    _id: String,
    uid: i64,
    team_id: String,
    kind: String,
    status: i64,
    model_name: String,
    resolution: String,
    video_length: i64,
    image_url: String,
    last_image_url: String,
    prompt: String,
    negative_prompt: String,
    extend_prompt: bool,
    audio_type: i64,
    audio_url: String,
    generate_audio: bool,
    is_premium_model: bool,
    effect_code: String,
    effect_name: String,
    webhook_url: String,
    file_name: String,
    batch_id: Option<String>,
    batch_count: Option<i64>,
    pre_video_id: Option<String>,
    deduction_credit: i64,
    blob_key: Option<String>,
    video_duration: Option<f64>,
    error_reason: Option<String>,
    attempts: i64,
    create_time: i64,
    update_time: i64,
}

#[cfg(test)]
pub(crate) const VIDEO_COLUMNS: &[&str] = VideoRow::COLUMNS;

impl VideoRow {
    /// Empty text stands for "none" where the column is `NOT NULL` (`last_image_url`, the effect),
    /// as Akool's records show it.
    fn of(v: &Video) -> VideoRow {
        let effect = v.effect.as_ref();
        VideoRow {
            _id: v.id.to_hex(),
            uid: v.uid,
            team_id: v.team_id.clone(),
            kind: v.kind.as_str().to_owned(),
            status: v.status.code(),
            model_name: v.model.as_str().to_owned(),
            resolution: v.resolution.value().to_owned(),
            video_length: v.video_length,
            image_url: v.image_url.clone(),
            last_image_url: v.last_image_url.clone().unwrap_or_default(),
            prompt: v.prompt.clone(),
            negative_prompt: v.negative_prompt.clone(),
            extend_prompt: v.extend_prompt,
            audio_type: v.audio_type.code(),
            audio_url: v.audio_url.clone(),
            generate_audio: v.generate_audio,
            is_premium_model: v.is_premium_model,
            effect_code: effect.map(|e| e.code.clone()).unwrap_or_default(),
            effect_name: effect.map(|e| e.name.clone()).unwrap_or_default(),
            webhook_url: v.webhook_url.clone(),
            file_name: v.file_name.clone(),
            batch_id: v.batch_id.clone(),
            batch_count: v.batch_count,
            pre_video_id: v.pre_video_id.map(|id| id.to_hex()),
            deduction_credit: v.deduction_credit,
            blob_key: v.blob_key.clone(),
            video_duration: v.video_duration,
            error_reason: v.error_reason.clone(),
            attempts: v.attempts,
            create_time: v.create_time,
            update_time: v.update_time,
        }
    }

    /// A value the domain has no name for fails the read: only create writes these columns, and
    /// it writes nothing else.
    fn into_video(self) -> StoreResult<Video> {
        let stored = |column: &str, value: &dyn std::fmt::Debug| {
            backend(format!("stored {column} {value:?} is not known"))
        };
        Ok(Video {
            id: object_id(&self._id)?,
            uid: self.uid,
            team_id: self.team_id,
            kind: VideoKind::parse(&self.kind).ok_or_else(|| stored("kind", &self.kind))?,
            status: VideoStatus::from_code(self.status)
                .ok_or_else(|| stored("status", &self.status))?,
            model: ModelName::new(self.model_name),
            resolution: Resolution::parse(&self.resolution)
                .ok_or_else(|| stored("resolution", &self.resolution))?,
            video_length: self.video_length,
            image_url: self.image_url,
            last_image_url: Some(self.last_image_url).filter(|url| !url.is_empty()),
            prompt: self.prompt,
            negative_prompt: self.negative_prompt,
            extend_prompt: self.extend_prompt,
            audio_type: AudioType::from_code(self.audio_type)
                .ok_or_else(|| stored("audio_type", &self.audio_type))?,
            audio_url: self.audio_url,
            generate_audio: self.generate_audio,
            is_premium_model: self.is_premium_model,
            effect: (!self.effect_code.is_empty()).then_some(EffectChoice {
                code: self.effect_code,
                name: self.effect_name,
            }),
            webhook_url: self.webhook_url,
            file_name: self.file_name,
            batch_id: self.batch_id,
            batch_count: self.batch_count,
            pre_video_id: self.pre_video_id.as_deref().map(object_id).transpose()?,
            deduction_credit: self.deduction_credit,
            blob_key: self.blob_key,
            video_duration: self.video_duration,
            error_reason: self.error_reason,
            attempts: self.attempts,
            create_time: self.create_time,
            update_time: self.update_time,
        })
    }
}

pub(super) fn auth<'r, R>(row: &'r R) -> StoreResult<AuthRecord>
where
    R: Row,
    &'r str: ColumnIndex<R>,
    String: Decode<'r, R::Database> + Type<R::Database>,
    i64: Decode<'r, R::Database> + Type<R::Database>,
    bool: Decode<'r, R::Database> + Type<R::Database>,
{
    Ok(AuthRecord {
        uid: row.try_get("uid")?,
        team_id: row.try_get("team_id")?,
        client_id: row.try_get("client_id")?,
        secret_hash: row.try_get("secret_hash")?,
        banned: row.try_get("banned")?,
        clock_offset_ms: row.try_get("clock_offset_ms")?,
        api_faults: row.try_get("api_faults")?,
    })
}

pub(super) fn delivery<'r, R>(row: &'r R) -> StoreResult<WebhookDelivery>
where
    R: Row,
    &'r str: ColumnIndex<R>,
    String: Decode<'r, R::Database> + Type<R::Database>,
    i64: Decode<'r, R::Database> + Type<R::Database>,
{
    let status: i64 = row.try_get("video_status")?;
    Ok(WebhookDelivery {
        id: row.try_get("id")?,
        video_id: row.try_get("video_id")?,
        uid: row.try_get("uid")?,
        url: row.try_get("url")?,
        video_status: VideoStatus::from_code(status)
            .ok_or_else(|| backend(format!("stored video_status {status} is not known")))?,
        blob_key: row.try_get("blob_key")?,
        state: row.try_get("state")?,
        attempts: row.try_get("attempts")?,
        next_attempt_at: row.try_get("next_attempt_at")?,
        last_error: row.try_get("last_error")?,
        created_at: row.try_get("created_at")?,
        finished_at: row.try_get("finished_at")?,
        fault: row.try_get("fault")?,
        account_faults: false,
    })
}

pub(super) fn account<'r, R>(row: &'r R) -> StoreResult<Account>
where
    R: Row,
    &'r str: ColumnIndex<R>,
    String: Decode<'r, R::Database> + Type<R::Database>,
    i64: Decode<'r, R::Database> + Type<R::Database>,
    bool: Decode<'r, R::Database> + Type<R::Database>,
{
    Ok(Account {
        uid: row.try_get("uid")?,
        team_id: row.try_get("team_id")?,
        name: row.try_get("name")?,
        credits: row.try_get("credits")?,
        banned: row.try_get("banned")?,
        created_at: row.try_get("created_at")?,
    })
}

/// From `SELECT attempt, at, http_status, error`.
pub(super) fn attempt<'r, R>(row: &'r R) -> StoreResult<WebhookAttempt>
where
    R: Row,
    &'r str: ColumnIndex<R>,
    String: Decode<'r, R::Database> + Type<R::Database>,
    i64: Decode<'r, R::Database> + Type<R::Database>,
{
    Ok(WebhookAttempt {
        attempt: row.try_get("attempt")?,
        at: row.try_get("at")?,
        http_status: row.try_get("http_status")?,
        error: row.try_get("error")?,
    })
}

/// From `SELECT id, blob_key`.
pub(super) fn blob_deletion<'r, R>(row: &'r R) -> StoreResult<BlobDeletion>
where
    R: Row,
    &'r str: ColumnIndex<R>,
    String: Decode<'r, R::Database> + Type<R::Database>,
    i64: Decode<'r, R::Database> + Type<R::Database>,
{
    Ok(BlobDeletion {
        id: row.try_get("id")?,
        blob_key: row.try_get("blob_key")?,
    })
}

/// From `SELECT * FROM request_journal`.
pub(super) fn journal_entry<'r, R>(row: &'r R) -> StoreResult<JournalEntry>
where
    R: Row,
    &'r str: ColumnIndex<R>,
    String: Decode<'r, R::Database> + Type<R::Database>,
    StoredBody: Decode<'r, R::Database> + Type<R::Database>,
    i64: Decode<'r, R::Database> + Type<R::Database>,
{
    Ok(JournalEntry {
        id: row.try_get("id")?,
        at_ms: row.try_get("at_ms")?,
        uid: row.try_get("uid")?,
        method: row.try_get("method")?,
        path: row.try_get("path")?,
        query: row.try_get("query")?,
        request_body: row.try_get::<StoredBody, _>("request_body")?.0,
        status: row.try_get("status")?,
        code: row.try_get("code")?,
        response_body: row.try_get::<StoredBody, _>("response_body")?.0,
        latency_ms: row.try_get("latency_ms")?,
        fault: row.try_get("fault")?,
    })
}

/// Puts `items` in the order their ids have in `order`.
pub(super) fn in_request_order<T>(
    order: &[ObjectId],
    mut items: Vec<T>,
    id_of: impl Fn(&T) -> ObjectId,
) -> Vec<T> {
    items.sort_by_key(|item| {
        let id = id_of(item);
        order.iter().position(|o| *o == id).unwrap_or(usize::MAX)
    });
    items
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::catalogue::Catalogue;
    use crate::domain::spec::parse_batch;
    use crate::domain::video::Order;

    fn video() -> Video {
        let body = serde_json::json!({
            "image_url": "https://example.com/a.png",
            "resolution": "4k",
            "video_length": 10,
            "model_name": "I2VMotionV1",
            "effect_code": "shake_10000009",
            "last_image_url": "https://example.com/b.png",
            "audio_type": 2,
            "audio_url": "https://example.com/a.mp3",
        });
        let (spec, _) = parse_batch(&body, Catalogue::builtin()).unwrap();
        let order = Order {
            uid: 100001,
            team_id: "team",
            kind: VideoKind::Batch,
            at: 1_754_006_400_000,
        };
        Video::ordered(&spec, order, 1).remove(0)
    }

    #[test]
    fn every_typed_field_reads_back_from_its_columns() {
        let mut v = video();
        v.pre_video_id = Some(v.id);
        v.status = VideoStatus::Completed;
        v.blob_key = Some("videos/x/a.mp4".into());
        v.video_duration = Some(10.01);
        assert_eq!(VideoRow::of(&v).into_video().unwrap(), v);

        v.effect = None;
        v.last_image_url = None;
        let row = VideoRow::of(&v);
        assert_eq!(
            (row.effect_code.as_str(), row.last_image_url.as_str()),
            ("", "")
        );
        assert_eq!(row.into_video().unwrap(), v);
    }

    #[test]
    fn values_the_domain_does_not_know_fail_the_read_but_unknown_names_do_not() {
        let v = video();
        let row = VideoRow {
            resolution: "8k".into(),
            ..VideoRow::of(&v)
        };
        let err = row.into_video().unwrap_err().to_string();
        assert!(err.contains("stored resolution \"8k\""), "{err}");
        let row = VideoRow {
            model_name: "retired-model".into(),
            effect_code: "retired_effect".into(),
            ..VideoRow::of(&v)
        };
        let read = row.into_video().unwrap();
        assert_eq!(read.model.as_str(), "retired-model");
        assert_eq!(read.effect.map(|e| e.code), Some("retired_effect".into()));
    }

    #[test]
    fn the_insert_names_every_column_once_with_numbered_placeholders() {
        let sql = insert_sql();
        let n = VideoRow::COLUMNS.len();
        assert!(
            sql.starts_with("INSERT INTO videos (_id, uid, team_id, kind, status, "),
            "{sql}"
        );
        assert!(sql.ends_with(&format!("${}, ${n})", n - 1)), "{sql}");
        let unique: std::collections::HashSet<_> = VideoRow::COLUMNS.iter().collect();
        assert_eq!(unique.len(), n);
    }
}
