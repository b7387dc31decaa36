//! Redirect limits, size caps, timeouts and the minimum rate.

use std::time::Duration;

use super::{local_server, loopback_policy};
use crate::net::{FetchError, NetPolicy, Outbound};

#[tokio::test]
async fn redirects_are_limited_and_sizes_capped() {
    let base = local_server().await;
    let out = Outbound::new(loopback_policy());
    assert_eq!(
        out.fetch(&format!("{base}/hop/5"), 1 << 20)
            .await
            .unwrap()
            .len(),
        10 * 1024
    );
    let too_many = out.fetch(&format!("{base}/hop/6"), 1 << 20).await;
    assert!(
        matches!(&too_many, Err(FetchError::Network { reason, .. }) if reason.contains("too many redirects")),
        "{too_many:?}"
    );
    assert!(matches!(
        out.fetch(&format!("{base}/hop/0"), 1000).await,
        Err(FetchError::TooLarge { max: 1000, .. })
    ));
    assert!(matches!(
        out.fetch(&format!("{base}/stream"), 5000).await,
        Err(FetchError::TooLarge { .. })
    ));
    assert_eq!(
        out.fetch(&format!("{base}/stream"), 20_000)
            .await
            .unwrap()
            .len(),
        10 * 1024
    );
    assert!(matches!(
        out.fetch(&format!("{base}/nope"), 10).await,
        Err(FetchError::Status { status: 404, .. })
    ));
}

#[tokio::test]
async fn a_host_that_never_answers_fails_at_the_first_byte_timeout() {
    let base = local_server().await;
    // The whole-request timeout (30 s) is far away: only the first-byte one can fire.
    let out = Outbound::new(NetPolicy {
        first_byte_timeout: Duration::from_secs(1),
        ..loopback_policy()
    });
    let got = tokio::time::timeout(
        Duration::from_secs(20),
        out.fetch(&format!("{base}/silent"), 1 << 20),
    )
    .await
    .expect("the first-byte timeout fires long before the whole-request one");
    match got {
        Err(e @ FetchError::Network { .. }) => {
            assert!(e.is_transient());
            assert!(e.to_string().contains("no answer within 1s"), "{e}");
        }
        other => panic!("{other:?}"),
    }
    // Webhooks too.
    let posted = tokio::time::timeout(
        Duration::from_secs(20),
        out.post_json(&format!("{base}/silent"), &serde_json::json!({"a": 1})),
    )
    .await
    .expect("the first-byte timeout applies to webhooks");
    assert!(
        matches!(&posted, Err(FetchError::Network { reason, .. }) if reason == "no answer within 1s"),
        "{posted:?}"
    );
}

#[tokio::test]
async fn a_trickling_body_fails_the_minimum_rate() {
    let base = local_server().await;
    let out = Outbound::new(NetPolicy {
        min_bytes_per_sec: 1000,
        rate_window: Duration::from_secs(2),
        ..loopback_policy()
    });
    // 20 bytes/s for 10 s: under the rate, inside the 30 s whole-request timeout.
    let got = tokio::time::timeout(
        Duration::from_secs(20),
        out.fetch(&format!("{base}/drip/200"), 1 << 20),
    )
    .await
    .expect("the rate check fires before the drip ends");
    match got {
        Err(e @ FetchError::Network { .. }) => {
            assert!(e.is_transient());
            assert!(
                e.to_string()
                    .contains("sent fewer than 1000 bytes/s over 2s"),
                "{e}"
            );
        }
        other => panic!("{other:?}"),
    }
    // A body that ends before the first window closes is not judged on a partial window.
    assert_eq!(
        out.fetch(&format!("{base}/drip/5"), 100)
            .await
            .unwrap()
            .len(),
        5
    );
    // Pauses are fine when each window's total meets the rate.
    assert_eq!(
        out.fetch(&format!("{base}/burst"), 1 << 20)
            .await
            .unwrap()
            .len(),
        4 * 64 * 1024
    );
    // 0 turns the check off.
    let unchecked = Outbound::new(NetPolicy {
        min_bytes_per_sec: 0,
        rate_window: Duration::from_secs(1),
        ..loopback_policy()
    });
    assert_eq!(
        unchecked
            .fetch(&format!("{base}/drip/30"), 100)
            .await
            .unwrap()
            .len(),
        30
    );
}
