//! The one-request verbs: `models`, `effects`, `credits` and `token`.

use serde_json::{json, Value};

use super::args::Connection;
use super::http::{Api, EFFECTS, MODELS, QUOTA};
use super::progress::Output;
use super::{ClientError, EXIT_OK};

pub async fn models(api: &Api, out: &Output) -> Result<u8, ClientError> {
    let answer = api.get(MODELS).await?;
    for model in answer["data"].as_array().into_iter().flatten() {
        out.record(model);
        let list = |field: &str, key: Option<&str>| -> String {
            model[field]
                .as_array()
                .into_iter()
                .flatten()
                .map(|v| match key {
                    Some(k) => text(&v[k]),
                    None => text(v),
                })
                .collect::<Vec<_>>()
                .join(",")
        };
        out.say(&format!(
            "{}\t{}\tresolutions {}\tseconds {}\tmax count {}",
            text(&model["value"]),
            text(&model["label"]),
            list("resolutionList", Some("value")),
            list("durationList", None),
            text(&model["maxCount"]),
        ));
    }
    Ok(EXIT_OK)
}

pub async fn effects(api: &Api, out: &Output) -> Result<u8, ClientError> {
    let answer = api.get(EFFECTS).await?;
    for effect in answer["data"]["result"].as_array().into_iter().flatten() {
        out.record(effect);
        out.say(&format!(
            "{}\t{}",
            text(&effect["effect_code"]),
            text(&effect["name"])
        ));
    }
    Ok(EXIT_OK)
}

pub async fn credits(api: &Api, out: &Output) -> Result<u8, ClientError> {
    let answer = api.get(QUOTA).await?;
    let credit = &answer["data"]["credit"];
    out.record(&json!({ "credit": credit }));
    out.say(&text(credit));
    Ok(EXIT_OK)
}

/// The one place a secret is printed: the token the caller asked for.
pub async fn token(c: &Connection, out: &Output) -> Result<u8, ClientError> {
    let (Some(id), Some(secret)) = (&c.client_id, &c.client_secret) else {
        return Err(ClientError::Usage(
            "token needs --client-id and --client-secret (AKOOL_CLIENT_ID, AKOOL_CLIENT_SECRET)"
                .into(),
        ));
    };
    let token = Api::anonymous(c)?.token(id, secret).await?;
    if out.json {
        out.record(&json!({ "token": token }));
    } else {
        out.print(&token);
    }
    Ok(EXIT_OK)
}

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}
