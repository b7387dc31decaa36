//! The console's admin view: accounts (a server-rendered table), and the admin API's other
//! controls driven by the script with the admin token typed into the page (held like an API
//! key: the tab's session storage, sent as `Authorization: Bearer`).

use askama::Template;
use axum::extract::State;
use axum::response::Response;

use super::pages::render;
use super::time::utc;
use crate::api::error::ApiError;
use crate::api::params::{int_param, QueryParams};
use crate::app::App;
use crate::service::ServiceError;

/// Accounts per page.
const PAGE: i64 = 50;

#[derive(Template)]
#[template(path = "console/admin.html")]
struct AdminPage {
    admin_api: bool,
}

pub async fn page(State(app): State<App>) -> Response {
    render(&AdminPage {
        admin_api: app.config.admin_token.is_some(),
    })
}

#[derive(serde::Deserialize)]
pub struct AccountsQuery {
    after: Option<String>,
}

#[derive(Template)]
#[template(path = "console/admin_accounts.html")]
struct AccountsFragment {
    accounts: Vec<AccountRow>,
    next_after: Option<i64>,
}

struct AccountRow {
    uid: i64,
    name: String,
    credits: i64,
    banned: bool,
    created: String,
}

pub async fn accounts(
    State(app): State<App>,
    QueryParams(q): QueryParams<AccountsQuery>,
) -> Result<Response, ApiError> {
    let after = int_param("after", q.after.as_deref())?.unwrap_or(0);
    let found = app
        .store
        .accounts_after(after, PAGE)
        .await
        .map_err(ServiceError::from)?;
    let next_after = match found.last() {
        Some(last) if found.len() as i64 == PAGE => Some(last.uid),
        _ => None,
    };
    Ok(render(&AccountsFragment {
        accounts: found
            .into_iter()
            .map(|a| AccountRow {
                uid: a.uid,
                name: a.name,
                credits: a.credits,
                banned: a.banned,
                created: utc(a.created_at),
            })
            .collect(),
        next_after,
    }))
}
