//! Private addresses refused (literal, resolved, redirected to) and errors that never show a
//! URL's secrets.

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use super::{local_server, loopback_policy};
use crate::net::{FetchError, NetPolicy, Outbound};

#[tokio::test]
async fn literal_private_urls_are_refused_before_any_request() {
    let out = Outbound::new(NetPolicy {
        allow_private: false,
        connect_timeout: Duration::from_secs(2),
        timeout: Duration::from_secs(2),
        ..NetPolicy::default()
    });
    for url in [
        "http://127.0.0.1:1/x.png",
        "http://[::1]:1/x",
        "http://169.254.169.254/latest/meta-data",
        "http://[fec0::1]/x",
        "http://[2002:a9fe:a9fe::1]/latest/meta-data",
        "http://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/x",
    ] {
        let got = out.fetch(url, 10).await;
        assert!(matches!(got, Err(FetchError::PrivateAddress(_))), "{url}");
        let e = got.unwrap_err();
        assert!(!e.is_transient());
        assert!(e.to_string().contains("--allow-private-urls"), "{e}");
    }
    assert!(matches!(
        out.fetch("file:///etc/passwd", 10).await,
        Err(FetchError::BadUrl(_))
    ));
    // A name that resolves to loopback is refused after resolution.
    assert!(matches!(
        out.fetch("http://localhost:1/x.png", 10).await,
        Err(FetchError::PrivateAddress(_))
    ));
}

/// Loopback plays the public host here (127.0.0.1 only, as a literal); every other literal
/// and every DNS answer counts as private, which is how a real deployment sees a redirect
/// from a public host to 10.0.0.1 or to a name that resolves privately.
#[tokio::test]
async fn a_redirect_to_a_private_address_is_a_permanent_private_address_error() {
    let base = local_server().await;
    let port = base.rsplit(':').next().unwrap().to_owned();
    let out = Outbound::with_checks(
        NetPolicy {
            allow_private: false,
            ..loopback_policy()
        },
        |ip| ip == IpAddr::V4(Ipv4Addr::LOCALHOST),
        |_| false,
    );
    // The stand-in public host is reachable, redirects included.
    assert_eq!(
        out.fetch(&format!("{base}/hop/2"), 1 << 20)
            .await
            .unwrap()
            .len(),
        10 * 1024
    );
    for target in [
        format!("http://127.0.0.2:{port}/hop/0"),
        format!("http://[::1]:{port}/hop/0"),
        "http://10.0.0.1/x.png".to_owned(),
        "http://169.254.169.254/latest/meta-data".to_owned(),
        format!("http://localhost:{port}/hop/0"),
    ] {
        let got = out.fetch(&format!("{base}/to?{target}"), 1 << 20).await;
        match got {
            Err(e @ FetchError::PrivateAddress(_)) => {
                assert!(!e.is_transient(), "{e}");
                assert!(e.to_string().contains("--allow-private-urls"), "{e}");
            }
            other => panic!("{target}: {other:?}"),
        }
    }
    // Through a few hops first.
    let chained = format!("{base}/to?{base}/to?http://10.1.2.3/x");
    assert!(
        matches!(
            out.fetch(&chained, 1 << 20).await,
            Err(FetchError::PrivateAddress(_))
        ),
        "{chained}"
    );
}

#[tokio::test]
async fn errors_never_show_credentials_or_query_strings() {
    const PASSWORD: &str = "S3cr3tPass";
    const SIGNATURE: &str = "Zm9vYmFyc2lnbmF0dXJl";
    let base = local_server().await;
    let authority = base.trim_start_matches("http://").to_owned();
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let secret_url = |authority: &str, path: &str| {
        format!(
                "http://alice:{PASSWORD}@{authority}{path}?X-Amz-Signature={SIGNATURE}&X-Amz-Credential=AKIA{SIGNATURE}#frag{SIGNATURE}"
            )
    };
    let out = Outbound::new(loopback_policy());
    let quick = Outbound::new(NetPolicy {
        timeout: Duration::from_secs(1),
        ..loopback_policy()
    });
    let silent_first_byte = Outbound::new(NetPolicy {
        first_byte_timeout: Duration::from_secs(1),
        ..loopback_policy()
    });
    let slow = Outbound::new(NetPolicy {
        min_bytes_per_sec: 1000,
        rate_window: Duration::from_secs(1),
        ..loopback_policy()
    });
    let strict = Outbound::new(NetPolicy {
        allow_private: false,
        ..loopback_policy()
    });
    let public_loopback = Outbound::with_checks(
        NetPolicy {
            allow_private: false,
            ..loopback_policy()
        },
        |ip| ip == IpAddr::V4(Ipv4Addr::LOCALHOST),
        |_| false,
    );
    let redirect_to_private = format!(
        "{}?http://bob:{PASSWORD}@10.0.0.1/x?sig={SIGNATURE}",
        secret_url(&authority, "/to").split('?').next().unwrap()
    );
    let mut errors = vec![
        out.fetch(
            &secret_url(&format!("127.0.0.1:{closed}"), "/img.png"),
            1 << 20,
        )
        .await,
        out.fetch(&secret_url(&authority, "/nope"), 1 << 20).await,
        quick
            .fetch(&secret_url(&authority, "/silent"), 1 << 20)
            .await,
        silent_first_byte
            .fetch(&secret_url(&authority, "/silent"), 1 << 20)
            .await,
        out.fetch(&secret_url(&authority, "/hop/0"), 100).await,
        out.fetch(&secret_url(&authority, "/stream"), 100).await,
        out.fetch(&secret_url(&authority, "/loop"), 1 << 20).await,
        slow.fetch(&secret_url(&authority, "/drip/100"), 1 << 20)
            .await,
        strict.fetch(&secret_url("127.0.0.1", "/x"), 1 << 20).await,
        strict
            .fetch(&secret_url("localhost:1", "/x"), 1 << 20)
            .await,
        public_loopback.fetch(&redirect_to_private, 1 << 20).await,
        out.fetch(&secret_url("[::1", "/x"), 1 << 20).await,
        out.fetch(
            &secret_url(&authority, "/x").replace("http", "ftp"),
            1 << 20,
        )
        .await,
        out.fetch(&format!("alice:{PASSWORD}@host/x?sig={SIGNATURE}"), 1 << 20)
            .await,
    ]
    .into_iter()
    .map(|r| r.unwrap_err())
    .collect::<Vec<_>>();
    errors.push(
        out.post_json(
            &secret_url(&format!("127.0.0.1:{closed}"), "/hook"),
            &serde_json::json!({}),
        )
        .await
        .unwrap_err(),
    );
    // Every failure mode is exercised, not just one of them many times.
    let kinds = |f: fn(&FetchError) -> bool| errors.iter().filter(|e| f(e)).count();
    assert!(kinds(|e| matches!(e, FetchError::Network { .. })) >= 6);
    assert!(kinds(|e| matches!(e, FetchError::Status { .. })) >= 1);
    assert!(kinds(|e| matches!(e, FetchError::TooLarge { .. })) >= 2);
    assert!(kinds(|e| matches!(e, FetchError::PrivateAddress(_))) >= 3);
    assert!(kinds(|e| matches!(e, FetchError::BadUrl(_))) >= 2);
    for e in &errors {
        for shown in [e.to_string(), format!("{e:?}")] {
            assert!(!shown.contains(PASSWORD), "{shown}");
            assert!(!shown.contains(SIGNATURE), "{shown}");
            assert!(!shown.contains("alice"), "{shown}");
            assert!(!shown.contains("X-Amz"), "{shown}");
        }
    }
}
