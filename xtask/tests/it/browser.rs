//! A real browser calls the API: headless Chromium (Debian's `chromium`,
//! driven through `chromedriver` with a WebDriver client) loads a small page
//! from its own loopback origin and runs create → add_turn → get_context
//! with `fetch()` against the local module (the real functions, moto, the
//! JWT authorizer). The page's origin, allowed with `dev --cors-origin`,
//! works; the same page from another origin is blocked by the browser.

use fantoccini::{Client, ClientBuilder};
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const PAGE: &str = include_str!("../browser/index.html");

/// Serves the page on `listener` (every path), one connection at a time.
async fn serve_page(listener: TcpListener) {
    while let Ok((mut s, _)) = listener.accept().await {
        let mut buf = [0u8; 4096];
        let _ = s.read(&mut buf).await;
        let head = format!(
            "HTTP/1.1 200 OK\r\ncontent-type: text/html; charset=utf-8\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
            PAGE.len()
        );
        let _ = s.write_all(head.as_bytes()).await;
        let _ = s.write_all(PAGE.as_bytes()).await;
    }
}

/// chromedriver on a free loopback port, killed on drop.
struct Driver {
    child: Child,
    port: u16,
}

impl Driver {
    fn start() -> Driver {
        for bin in [CHROMIUM, CHROMEDRIVER] {
            assert!(
                std::path::Path::new(bin).exists(),
                "{bin} is missing: install Debian's chromium and chromium-driver (`apt-get install chromium chromium-driver`; .ci/run does)"
            );
        }
        let port = emulator::free_port().unwrap();
        let child = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "chromedriver did not listen on {port}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Driver { child, port }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A headless Chromium session: no network beyond loopback, a fresh profile.
async fn browser(driver: &Driver, profile: &std::path::Path) -> Client {
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        json!({
            "binary": CHROMIUM,
            "args": [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                format!("--user-data-dir={}", profile.display()),
            ],
        }),
    );
    ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(caps)
        .connect(&format!("http://127.0.0.1:{}", driver.port))
        .await
        .expect("a Chromium session through chromedriver")
}

/// Loads the page from `page` and runs its flow against `api`.
async fn run_flow(client: &Client, page: SocketAddr, api: SocketAddr, token: &str) -> Value {
    client
        .goto(&format!("http://{page}/"))
        .await
        .expect("the page loads");
    client
        .execute_async(
            "const [api, token, done] = arguments; flow(api, token).then(done);",
            vec![json!(format!("http://{api}")), json!(token)],
        )
        .await
        .expect("the flow runs")
}

#[test]
fn a_page_on_an_allowed_origin_calls_the_api_and_another_origin_is_blocked() {
    let page = |l: &std::net::TcpListener| l.local_addr().unwrap();
    let (allowed_page, foreign_page) = (
        std::net::TcpListener::bind("127.0.0.1:0").unwrap(),
        std::net::TcpListener::bind("127.0.0.1:0").unwrap(),
    );
    let (allowed, foreign) = (page(&allowed_page), page(&foreign_page));
    let api = crate::support::LocalApi::start("browser", |o| {
        o.cors_origins = vec![format!("http://{allowed}")];
    });
    let (rt, running, dir) = (&api.rt, &api.running, &api.dir);
    for l in [allowed_page, foreign_page] {
        l.set_nonblocking(true).unwrap();
        let _guard = rt.enter();
        rt.spawn(serve_page(TcpListener::from_std(l).unwrap()));
    }
    let token = running.token("browser-student", 3600).unwrap();
    let driver = Driver::start();
    let client = rt.block_on(browser(&driver, &dir.join("profile")));

    let ok = rt.block_on(run_flow(&client, allowed, api.addr, &token));
    assert_eq!(ok["ok"], true, "from the allowed origin: {ok}");
    assert_eq!(ok["statuses"], json!([201, 200, 200]), "{ok}");
    assert_eq!(ok["turns"], json!(["What is a closure?"]), "{ok}");

    // The same page from an origin the stage does not list: the preflight
    // gets no CORS headers and Chromium refuses the request.
    let before = running.gateway.stats()["invocations"].clone();
    let blocked = rt.block_on(run_flow(&client, foreign, api.addr, &token));
    assert_eq!(blocked["ok"], false, "from a foreign origin: {blocked}");
    assert!(
        blocked["error"]
            .as_str()
            .is_some_and(|e| e.contains("Failed to fetch")),
        "{blocked}"
    );
    assert_eq!(
        running.gateway.stats()["invocations"],
        before,
        "no function ran for the blocked origin"
    );

    let _ = rt.block_on(client.close());
    drop(driver);
    api.stop();
}
