//! Reading stored rows into the types that cross the `Store` trait, once for every backend:
//! SQLite and PostgreSQL name and type their columns alike (the migrations keep them in step).

use sqlx::{ColumnIndex, Decode, Row, Type};

use super::{
    Account, AuthRecord, BlobDeletion, StoreError, StoreResult, Video, VideoKind, WebhookAttempt,
    WebhookDelivery,
};
use crate::domain::{ObjectId, VideoStatus};

fn backend(msg: String) -> StoreError {
    StoreError::Backend(msg.into())
}

pub(super) fn object_id(stored: &str) -> StoreResult<ObjectId> {
    ObjectId::parse(stored)
        .ok_or_else(|| backend(format!("stored _id {stored:?} is not an ObjectId")))
}

pub(super) fn video<'r, R>(row: &'r R) -> StoreResult<Video>
where
    R: Row,
    &'r str: ColumnIndex<R>,
    String: Decode<'r, R::Database> + Type<R::Database>,
    i64: Decode<'r, R::Database> + Type<R::Database>,
    f64: Decode<'r, R::Database> + Type<R::Database>,
    bool: Decode<'r, R::Database> + Type<R::Database>,
{
    let id: String = row.try_get("_id")?;
    let status: i64 = row.try_get("status")?;
    let kind: String = row.try_get("kind")?;
    Ok(Video {
        id: object_id(&id)?,
        uid: row.try_get("uid")?,
        team_id: row.try_get("team_id")?,
        kind: VideoKind::parse(&kind).ok_or_else(|| backend(format!("stored kind {kind:?}")))?,
        status: VideoStatus::from_code(status)
            .ok_or_else(|| backend(format!("stored status {status}")))?,
        model_name: row.try_get("model_name")?,
        resolution: row.try_get("resolution")?,
        video_length: row.try_get("video_length")?,
        image_url: row.try_get("image_url")?,
        last_image_url: row.try_get("last_image_url")?,
        prompt: row.try_get("prompt")?,
        negative_prompt: row.try_get("negative_prompt")?,
        extend_prompt: row.try_get("extend_prompt")?,
        audio_type: row.try_get("audio_type")?,
        audio_url: row.try_get("audio_url")?,
        generate_audio: row.try_get("generate_audio")?,
        is_premium_model: row.try_get("is_premium_model")?,
        effect_code: row.try_get("effect_code")?,
        effect_name: row.try_get("effect_name")?,
        webhook_url: row.try_get("webhook_url")?,
        file_name: row.try_get("file_name")?,
        batch_id: row.try_get("batch_id")?,
        batch_count: row.try_get("batch_count")?,
        pre_video_id: row.try_get("pre_video_id")?,
        deduction_credit: row.try_get("deduction_credit")?,
        blob_key: row.try_get("blob_key")?,
        video_duration: row.try_get("video_duration")?,
        error_reason: row.try_get("error_reason")?,
        attempts: row.try_get("attempts")?,
        create_time: row.try_get("create_time")?,
        update_time: row.try_get("update_time")?,
    })
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
    })
}

pub(super) fn delivery<'r, R>(row: &'r R) -> StoreResult<WebhookDelivery>
where
    R: Row,
    &'r str: ColumnIndex<R>,
    String: Decode<'r, R::Database> + Type<R::Database>,
    i64: Decode<'r, R::Database> + Type<R::Database>,
{
    Ok(WebhookDelivery {
        id: row.try_get("id")?,
        video_id: row.try_get("video_id")?,
        uid: row.try_get("uid")?,
        url: row.try_get("url")?,
        video_status: row.try_get("video_status")?,
        blob_key: row.try_get("blob_key")?,
        state: row.try_get("state")?,
        attempts: row.try_get("attempts")?,
        next_attempt_at: row.try_get("next_attempt_at")?,
        last_error: row.try_get("last_error")?,
        created_at: row.try_get("created_at")?,
        finished_at: row.try_get("finished_at")?,
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
