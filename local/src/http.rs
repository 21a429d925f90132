//! The one HTTP/1.1 accept loop of the local servers (the HTTP API and each
//! function's Runtime API), and the shutdown signal they share.

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use std::future::Future;
use std::net::SocketAddr;
use tokio::net::TcpListener;
use tokio::sync::watch;

/// Resolves once `rx` turns true (or its sender is gone).
pub async fn stopped(rx: &mut watch::Receiver<bool>) {
    let _ = rx.wait_for(|s| *s).await;
}

/// Serves `handle` on `listener` until `shutdown` turns true; dropping (or
/// aborting) the future drops every connection with it.
pub async fn serve<H, F>(listener: TcpListener, mut shutdown: watch::Receiver<bool>, handle: H)
where
    H: Fn(Request<Incoming>, SocketAddr) -> F + Clone + Send + Sync + 'static,
    F: Future<Output = Response<Full<Bytes>>> + Send + 'static,
{
    let mut conns = tokio::task::JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((stream, peer)) = accepted else { continue };
                let _ = stream.set_nodelay(true);
                let handle = handle.clone();
                conns.spawn(async move {
                    let svc = hyper::service::service_fn(move |req| {
                        let answer = handle(req, peer);
                        async move { Ok::<_, std::convert::Infallible>(answer.await) }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), svc)
                        .await;
                });
                while conns.try_join_next().is_some() {}
            }
            _ = stopped(&mut shutdown) => break,
        }
    }
    conns.shutdown().await;
}
