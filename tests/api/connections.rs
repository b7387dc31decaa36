//! Slow clients and connection limits (`[server]`): silent, half-sent, idle and trickling
//! connections are closed; at `max_connections` the server stops accepting but keeps serving
//! the connections it has. Raw TCP, because an HTTP client would never misbehave like this.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::timeout;

use crate::helpers::*;

/// Generous: a healthy server closes these connections within a second or two of the timeouts
/// the tests configure; the old server never did.
const BOUND: Duration = Duration::from_secs(20);

const HEALTHZ: &[u8] = b"GET /healthz HTTP/1.1\r\nHost: i2v\r\n\r\n";

async fn connect(app: &TestApp) -> TcpStream {
    let addr = app.base.trim_start_matches("http://");
    TcpStream::connect(addr).await.expect("connects")
}

/// Reads until the server closes the connection; `None` if it has not within `bound`.
async fn closed_within(stream: &mut TcpStream, bound: Duration) -> Option<Vec<u8>> {
    let mut seen = Vec::new();
    let read_all = async {
        let mut buf = [0u8; 4096];
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => seen.extend_from_slice(&buf[..n]),
            }
        }
    };
    timeout(bound, read_all).await.ok()?;
    Some(seen)
}

/// Reads one whole response (head and a `content-length` body) and returns it as text.
async fn read_response(stream: &mut TcpStream) -> String {
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let text = String::from_utf8_lossy(&seen).into_owned();
        if let Some(end) = text.find("\r\n\r\n") {
            let length = text[..end]
                .lines()
                .find_map(|l| {
                    let (name, value) = l.split_once(':')?;
                    name.eq_ignore_ascii_case("content-length")
                        .then(|| value.trim().parse::<usize>().ok())?
                })
                .unwrap_or(0);
            if seen.len() >= end + 4 + length {
                return text;
            }
        }
        let n = stream.read(&mut buf).await.expect("reads the response");
        assert!(n > 0, "closed mid-response: {text:?}");
        seen.extend_from_slice(&buf[..n]);
    }
}

async fn healthz_on(stream: &mut TcpStream) -> String {
    stream.write_all(HEALTHZ).await.expect("request sent");
    let response = timeout(BOUND, read_response(stream))
        .await
        .expect("answered in time");
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    response
}

#[tokio::test]
async fn a_connection_that_sends_nothing_is_closed_after_the_header_timeout() {
    let app = spawn_with(|c| c.server.header_read_timeout = Duration::from_millis(300)).await;
    let mut silent = connect(&app).await;
    let seen = closed_within(&mut silent, BOUND)
        .await
        .expect("a silent connection is closed");
    assert!(seen.is_empty(), "{:?}", String::from_utf8_lossy(&seen));
}

#[tokio::test]
async fn a_partial_or_trickled_header_is_closed_after_the_header_timeout() {
    let app = spawn_with(|c| c.server.header_read_timeout = Duration::from_millis(300)).await;

    let mut partial = connect(&app).await;
    partial
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: i2v\r\n")
        .await
        .unwrap();
    let seen = closed_within(&mut partial, BOUND)
        .await
        .expect("a half-sent head is closed");
    assert!(seen.is_empty(), "{:?}", String::from_utf8_lossy(&seen));

    // Slowloris: a byte every 50 ms keeps the connection busy but never finishes the head.
    let mut trickle = connect(&app).await;
    let trickled = async {
        for byte in b"GET /healthz HTTP/1.1\r\nX-Slow: ".iter().cycle() {
            if trickle.write_all(&[*byte]).await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    };
    timeout(BOUND, trickled)
        .await
        .expect("a trickled head is cut off");
}

#[tokio::test]
async fn an_idle_keep_alive_connection_is_closed_after_the_idle_timeout() {
    // A long header timeout, so only the idle timeout can close it.
    let app = spawn_with(|c| {
        c.server.header_read_timeout = Duration::from_millis(60_000);
        c.server.idle_timeout = Duration::from_secs(1);
    })
    .await;
    let mut conn = connect(&app).await;
    healthz_on(&mut conn).await;
    let seen = closed_within(&mut conn, BOUND)
        .await
        .expect("an idle keep-alive connection is closed");
    assert!(seen.is_empty(), "{:?}", String::from_utf8_lossy(&seen));
}

#[tokio::test]
async fn keep_alive_connections_serve_request_after_request() {
    // Pauses longer than the header timeout: between requests only the idle timeout applies.
    let app = spawn_with(|c| c.server.header_read_timeout = Duration::from_millis(300)).await;
    let mut conn = connect(&app).await;
    for _ in 0..3 {
        healthz_on(&mut conn).await;
        tokio::time::sleep(Duration::from_millis(700)).await;
    }
    // Pipelined: two requests in one write, two answers.
    conn.write_all(&[HEALTHZ, HEALTHZ].concat()).await.unwrap();
    let both = async {
        let mut seen = Vec::new();
        let mut buf = [0u8; 4096];
        while String::from_utf8_lossy(&seen)
            .matches(r#"{"status":"ok"}"#)
            .count()
            < 2
        {
            let n = conn.read(&mut buf).await.expect("reads the responses");
            assert!(n > 0, "closed mid-pipeline");
            seen.extend_from_slice(&buf[..n]);
        }
        String::from_utf8_lossy(&seen).into_owned()
    };
    let text = timeout(BOUND, both)
        .await
        .expect("both pipelined requests answered");
    assert_eq!(text.matches("HTTP/1.1 200").count(), 2, "{text}");
    // And an ordinary client sees nothing unusual.
    for _ in 0..3 {
        let resp = app.client.get(app.url("/healthz")).send().await.unwrap();
        assert_eq!(resp.status(), 200);
    }
}

#[tokio::test]
async fn at_max_connections_new_clients_wait_until_a_connection_closes() {
    let app = spawn_with(|c| {
        c.server.max_connections = 8;
        c.server.header_read_timeout = Duration::from_millis(60_000);
    })
    .await;
    // Eight connections, each proven accepted by an answered request, then held idle.
    let mut held = Vec::new();
    for _ in 0..8 {
        let mut conn = connect(&app).await;
        healthz_on(&mut conn).await;
        held.push(conn);
    }
    // The ninth connects (the kernel's backlog takes it) but is not served ...
    let mut ninth = connect(&app).await;
    ninth.write_all(HEALTHZ).await.unwrap();
    let mut byte = [0u8; 1];
    assert!(
        timeout(Duration::from_secs(1), ninth.read(&mut byte))
            .await
            .is_err(),
        "a ninth connection was served while eight were open"
    );
    // ... while the eight held ones still are.
    healthz_on(&mut held[0]).await;
    // One closes; the ninth is accepted and answered.
    drop(held.pop());
    let response = timeout(BOUND, read_response(&mut ninth))
        .await
        .expect("the waiting client is served once a connection closes");
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
}

#[tokio::test]
async fn silent_connections_beyond_the_cap_time_out_and_real_clients_get_through() {
    let app = spawn_with(|c| {
        c.server.max_connections = 8;
        c.server.header_read_timeout = Duration::from_millis(500);
    })
    .await;
    let mut silent = Vec::new();
    for _ in 0..20 {
        silent.push(connect(&app).await);
    }
    // Queued behind the silent ones; served once they have timed out in batches of eight.
    let resp = timeout(BOUND, app.client.get(app.url("/healthz")).send())
        .await
        .expect("a real client is served within the bound")
        .unwrap();
    assert_eq!(resp.status(), 200);
    for conn in &mut silent {
        let seen = closed_within(conn, BOUND)
            .await
            .expect("every silent connection is closed");
        assert!(seen.is_empty());
    }
}

#[tokio::test]
async fn a_trickling_request_body_is_cut_off_after_the_body_timeout() {
    let app = spawn_with(|c| {
        c.server.body_read_timeout = Duration::from_secs(1);
        c.server.idle_timeout = Duration::from_secs(600);
        c.server.header_read_timeout = Duration::from_millis(60_000);
    })
    .await;
    let mut conn = connect(&app).await;
    conn.write_all(
        b"POST /api/open/v3/getToken HTTP/1.1\r\nHost: i2v\r\n\
          Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{",
    )
    .await
    .unwrap();
    let seen = closed_within(&mut conn, BOUND)
        .await
        .expect("a request whose body never arrives is closed");
    // The handler gets an error for the body it could not read and answers before the close.
    let text = String::from_utf8_lossy(&seen);
    assert!(text.starts_with("HTTP/1.1 "), "{text}");
}
