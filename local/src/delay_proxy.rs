//! A loopback proxy between the functions and the emulator that holds each
//! HTTP request for a set delay: `bench functions` then measures round trips
//! (a fixed cost per AWS call, like the network between Lambda and DynamoDB)
//! rather than how fast the emulator answers.
//!
//! It forwards bytes, not parsed HTTP: a read from the function that starts
//! with an HTTP method is the start of a request (the SDK writes each
//! request's head in one write on a kept-alive connection), and is held for
//! the delay before it is passed on.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

pub struct DelayProxy {
    addr: SocketAddr,
    delay_us: Arc<AtomicU64>,
    requests: Arc<AtomicU64>,
    task: JoinHandle<()>,
}

const METHODS: &[&[u8]] = &[b"POST ", b"GET ", b"PUT ", b"DELETE ", b"HEAD ", b"PATCH "];

impl DelayProxy {
    /// Listens on a free loopback port and forwards to `upstream`, with no delay.
    pub async fn start(upstream: SocketAddr) -> std::io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let delay_us = Arc::new(AtomicU64::new(0));
        let requests = Arc::new(AtomicU64::new(0));
        let (d, n) = (delay_us.clone(), requests.clone());
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let (d, n) = (d.clone(), n.clone());
                tokio::spawn(async move {
                    let _ = forward(client, upstream, d, n).await;
                });
            }
        });
        Ok(DelayProxy {
            addr,
            delay_us,
            requests,
            task,
        })
    }

    /// The delay added to every request from now on.
    pub fn set_delay(&self, d: Duration) {
        self.delay_us.store(d.as_micros() as u64, Ordering::Relaxed);
    }

    /// Requests seen so far.
    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    pub fn endpoint_url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for DelayProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn forward(
    client: TcpStream,
    upstream: SocketAddr,
    delay_us: Arc<AtomicU64>,
    requests: Arc<AtomicU64>,
) -> std::io::Result<()> {
    client.set_nodelay(true)?;
    let server = TcpStream::connect(upstream).await?;
    server.set_nodelay(true)?;
    let (mut client_r, mut client_w) = client.into_split();
    let (mut server_r, mut server_w) = server.into_split();
    let back = tokio::spawn(async move { tokio::io::copy(&mut server_r, &mut client_w).await });
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = client_r.read(&mut buf).await?;
        if n == 0 {
            break;
        }
        if METHODS.iter().any(|m| buf[..n].starts_with(m)) {
            requests.fetch_add(1, Ordering::Relaxed);
            let us = delay_us.load(Ordering::Relaxed);
            if us > 0 {
                tokio::time::sleep(Duration::from_micros(us)).await;
            }
        }
        server_w.write_all(&buf[..n]).await?;
    }
    let _ = server_w.shutdown().await;
    let _ = back.await;
    Ok(())
}
