//! The fault proxy forwards requests and answers both ways on one
//! kept-alive connection, counts each request once, and injects faults on
//! its schedule.

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use local::fault_proxy::{Fault, FaultProxy, Injected};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

#[tokio::test]
async fn forwards_both_ways_and_counts_each_request() {
    // An upstream that answers every request head with a short body.
    let upstream = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let up = upstream.local_addr().unwrap();
    tokio::spawn(async move {
        let (mut s, _) = upstream.accept().await.unwrap();
        let mut buf = vec![0u8; 4096];
        loop {
            let n = s.read(&mut buf).await.unwrap();
            if n == 0 {
                break;
            }
            s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
                .await
                .unwrap();
        }
    });
    let proxy = FaultProxy::start(up).await.unwrap();
    proxy.set_delay(Duration::from_millis(1));
    let addr = proxy
        .endpoint_url()
        .trim_start_matches("http://")
        .to_string();
    let mut c = tokio::net::TcpStream::connect(addr).await.unwrap();
    for _ in 0..2 {
        c.write_all(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n")
            .await
            .unwrap();
        let mut got = vec![0u8; 1024];
        let n = c.read(&mut got).await.unwrap();
        assert!(
            got[..n].ends_with(b"ok"),
            "{:?}",
            String::from_utf8_lossy(&got[..n])
        );
    }
    assert_eq!(proxy.requests(), 2);
}

#[tokio::test]
async fn faults_follow_the_schedule_and_are_counted() {
    // An upstream that answers every request 200 and counts them.
    let upstream = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let up_addr = upstream.local_addr().unwrap();
    let reached = Arc::new(AtomicU64::new(0));
    let seen = reached.clone();
    tokio::spawn(async move {
        while let Ok((s, _)) = upstream.accept().await {
            let seen = seen.clone();
            tokio::spawn(async move {
                let svc = hyper::service::service_fn(move |_req: Request<Incoming>| {
                    seen.fetch_add(1, Ordering::SeqCst);
                    async { Ok::<_, hyper::Error>(Response::new(Full::new(Bytes::from("{}")))) }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(s), svc)
                    .await;
            });
        }
    });
    let proxy = FaultProxy::start(up_addr).await.unwrap();
    proxy.inject(
        2,
        &[
            Fault::Throttling,
            Fault::InternalError,
            Fault::DroppedResponse,
        ],
    );
    let mut statuses = Vec::new();
    for _ in 0..6 {
        let stream = TcpStream::connect(proxy.endpoint_url().trim_start_matches("http://"))
            .await
            .unwrap();
        let (mut sender, conn) =
            hyper::client::conn::http1::handshake::<_, Full<Bytes>>(TokioIo::new(stream))
                .await
                .unwrap();
        tokio::spawn(conn);
        let req = Request::post("/")
            .header("host", "x")
            .header("x-amz-target", "DynamoDB_20120810.PutItem")
            .body(Full::new(Bytes::from("{}")))
            .unwrap();
        statuses.push(
            sender
                .send_request(req)
                .await
                .map(|r| r.status().as_u16())
                .ok(),
        );
    }
    assert_eq!(
        statuses,
        [Some(200), Some(400), Some(200), Some(500), Some(200), None]
    );
    // The dropped response's request reached the store; the others not.
    assert_eq!(reached.load(Ordering::SeqCst), 4);
    assert_eq!(
        proxy.injected(),
        Injected {
            throttling: 1,
            internal_error: 1,
            dropped_response: 1,
            stalled: 0
        }
    );
    assert_eq!(proxy.requests(), 6);
}
