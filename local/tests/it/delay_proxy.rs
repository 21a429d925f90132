//! The bench's delay proxy forwards requests and answers both ways on one
//! kept-alive connection, and counts each request once.

use local::delay_proxy::DelayProxy;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

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
    let proxy = DelayProxy::start(up).await.unwrap();
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
        let mut got = vec![0u8; 64];
        let n = c.read(&mut got).await.unwrap();
        assert!(
            got[..n].ends_with(b"ok"),
            "{:?}",
            String::from_utf8_lossy(&got[..n])
        );
    }
    assert_eq!(proxy.requests(), 2);
}
