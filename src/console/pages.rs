//! The console's pages: shells the script fills with fragments once credentials are given.

use askama::Template;
use axum::response::{Html, IntoResponse, Redirect, Response};

use crate::domain::catalogue::Catalogue;
use crate::domain::catalogue::IMAGE_TO_VIDEO;

/// The account view: sign in, the video list, create, delete, credits.
#[derive(Template)]
#[template(path = "console/account.html")]
struct AccountPage<'a> {
    models: Vec<ModelChoice<'a>>,
    effects: Vec<(&'a str, &'a str)>,
    image_to_video: i64,
}

struct ModelChoice<'a> {
    value: &'a str,
    label: &'a str,
    resolutions: Vec<&'a str>,
    durations: Vec<i64>,
}

pub async fn to_console() -> Redirect {
    Redirect::permanent("/console/")
}

pub async fn account(axum::extract::State(app): axum::extract::State<crate::app::App>) -> Response {
    render(&account_page(app.catalogue))
}

fn account_page(catalogue: &Catalogue) -> AccountPage<'_> {
    let mut models: Vec<&crate::domain::catalogue::Model> = catalogue.models.iter().collect();
    models.sort_by_key(|m| -m.sort);
    AccountPage {
        models: models
            .into_iter()
            .map(|m| ModelChoice {
                value: m.value,
                label: m.label,
                resolutions: m.resolutions.iter().map(|r| r.value).collect(),
                durations: m.durations.to_vec(),
            })
            .collect(),
        effects: catalogue.effects.iter().map(|e| (e.code, e.name)).collect(),
        image_to_video: IMAGE_TO_VIDEO,
    }
}

/// A template as an HTML answer; a template that cannot render is a server bug, logged.
pub(super) fn render(template: &impl Template) -> Response {
    match template.render() {
        Ok(html) => Html(html).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "console template failed");
            (
                axum::http::StatusCode::INTERNAL_SERVER_ERROR,
                "console error",
            )
                .into_response()
        }
    }
}
