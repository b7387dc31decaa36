//! Issue #13's test controls for the Akool routes: the request journal (`/_admin/v1/requests`)
//! and API faults (`/_admin/v1/accounts/{uid}/faults`). Webhook faults are `webhook_faults`.

mod api_faults;
mod journal;

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::emulator::data_of;
use crate::helpers::*;

pub const DELETE: &str = "/api/open/v4/image2Video/delbyids";
pub const RESULTS: &str = "/api/open/v4/image2Video/resultsByIds";
pub const TOKEN: &str = "/api/open/v3/getToken";
pub const QUOTA: &str = "/api/open/v3/faceswap/quota/info";

impl TestApp {
    /// The journal's entries for `query` (e.g. `uid=3&limit=10`), newest first.
    pub async fn journal(&self, query: &str) -> Vec<Value> {
        let path = format!("/requests?{query}");
        data_of(&path, self.admin_get(&path).await)["requests"]
            .as_array()
            .expect("a list")
            .clone()
    }

    pub async fn set_faults(&self, account: &Account, rules: Value) -> Value {
        let path = format!("/accounts/{}/faults", account.uid);
        data_of(&path, self.admin_put(&path, rules).await)
    }

    pub async fn faults(&self, account: &Account) -> Value {
        let path = format!("/accounts/{}/faults", account.uid);
        data_of(&path, self.admin_get(&path).await)
    }

    /// A raw POST with the account's key: the HTTP status, headers and body text, or the
    /// transport error when no answer came.
    pub async fn send_as(
        &self,
        account: &Account,
        path: &str,
        body: Value,
    ) -> Result<(StatusCode, reqwest::header::HeaderMap, String), reqwest::Error> {
        let response = self
            .client
            .post(self.url(path))
            .header("x-api-key", &account.key)
            .json(&body)
            .send()
            .await?;
        let status = response.status();
        let headers = response.headers().clone();
        Ok((status, headers, response.text().await?))
    }

    /// getToken for the account; the answer's JSON.
    pub async fn get_token(&self, account: &Account) -> (StatusCode, Value) {
        self.post_raw(
            TOKEN,
            &[("content-type", "application/json")],
            json!({"clientId": account.client_id, "clientSecret": account.key}).to_string(),
        )
        .await
    }
}
