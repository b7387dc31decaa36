//! Fetches against a loopback server (the opt-in for private addresses is on, or loopback plays
//! the public host).

use std::time::Duration;

use super::NetPolicy;

mod limits;
mod refusals;

fn loopback_policy() -> NetPolicy {
    NetPolicy {
        allow_private: true,
        connect_timeout: Duration::from_secs(2),
        timeout: Duration::from_secs(30),
        first_byte_timeout: Duration::from_secs(10),
        ..NetPolicy::default()
    }
}

/// A loopback server (the opt-in is on): `/hop/N` redirects to `/hop/N-1`, `/hop/0` answers
/// 10 KiB, `/stream` answers 10 KiB without a length, `/loop` redirects to itself keeping
/// its query, `/to?URL` redirects to URL, `/silent` never answers, `/drip/N` sends N bytes
/// one every 50 ms, `/burst` sends 4 x 64 KiB with 200 ms pauses.
async fn local_server() -> String {
    use axum::extract::{Path, RawQuery};
    use axum::response::{IntoResponse, Redirect};
    use axum::routing::{any, get};
    let app = axum::Router::new()
        .route(
            "/hop/{n}",
            get(|Path(n): Path<u32>| async move {
                if n == 0 {
                    vec![7u8; 10 * 1024].into_response()
                } else {
                    Redirect::temporary(&format!("/hop/{}", n - 1)).into_response()
                }
            }),
        )
        .route(
            "/stream",
            get(|| async {
                let chunks = futures::stream::iter(
                    (0..10).map(|_| Ok::<_, std::io::Error>(vec![1u8; 1024])),
                );
                axum::body::Body::from_stream(chunks)
            }),
        )
        .route(
            "/loop",
            get(|RawQuery(q): RawQuery| async move {
                Redirect::temporary(&format!("/loop?{}", q.unwrap_or_default()))
            }),
        )
        .route(
            "/to",
            get(|RawQuery(q): RawQuery| async move { Redirect::temporary(&q.unwrap_or_default()) }),
        )
        .route(
            "/silent",
            any(|| async {
                tokio::time::sleep(Duration::from_secs(120)).await;
                "too late"
            }),
        )
        .route(
            "/drip/{n}",
            get(|Path(n): Path<u32>| async move {
                let chunks = futures::stream::unfold(0u32, move |sent| async move {
                    if sent == n {
                        return None;
                    }
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    Some((Ok::<_, std::io::Error>(vec![1u8]), sent + 1))
                });
                axum::body::Body::from_stream(chunks)
            }),
        )
        .route(
            "/burst",
            get(|| async {
                let chunks = futures::stream::unfold(0u32, |sent| async move {
                    if sent == 4 {
                        return None;
                    }
                    if sent > 0 {
                        tokio::time::sleep(Duration::from_millis(200)).await;
                    }
                    Some((Ok::<_, std::io::Error>(vec![2u8; 64 * 1024]), sent + 1))
                });
                axum::body::Body::from_stream(chunks)
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    base
}
