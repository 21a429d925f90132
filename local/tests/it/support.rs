//! `dev` in process: the local cloud with the stand-in function, its HTTP
//! API on a free port, and requests to it.

use local::{Functions, Running, StartOptions};
use serde_json::Value;
use std::path::{Path, PathBuf};
use testkit::http::{http, post_json, Resp};

/// A fresh data directory.
pub fn data_dir(name: &str) -> PathBuf {
    testkit::scratch_dir(&format!("local-{name}"))
}

/// A running local cloud serving its HTTP API.
pub struct Dev {
    rt: tokio::runtime::Runtime,
    running: Option<Running>,
    pub port: u16,
    pub data_dir: PathBuf,
}

/// How to start it; `fixture()` for the stand-in function.
pub fn fixture(data_dir: &Path) -> StartOptions {
    StartOptions {
        stage: None,
        functions: Functions::Program(env!("CARGO_BIN_EXE_fixture-function").into()),
        fresh: false,
        function_timeout_ms: None,
        data_dir: data_dir.to_path_buf(),
        access_log: false,
        forward_logs: true,
        log: local::Log::stderr(),
        concurrency: 4,
        aws_proxy: false,
        unlocked_emulator: false,
        cors_origins: vec![],
        route_scopes: vec![],
    }
}

impl Dev {
    pub fn start(opts: StartOptions) -> Dev {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let running = rt.block_on(local::start(&opts)).expect("dev starts");
        let (addr, _server) = rt.block_on(running.serve_api()).expect("a loopback port");
        let port = addr.port();
        Dev {
            rt,
            running: Some(running),
            port,
            data_dir: opts.data_dir,
        }
    }

    /// Runs `local::watch::run` for `roots` beside this dev, as `dev --watch` does.
    pub fn watch(&self, opts: StartOptions, roots: Vec<PathBuf>) {
        let running = self.running.as_ref().expect("running");
        self.rt.spawn(local::watch::run(
            opts,
            running.runtimes.clone(),
            roots,
            std::time::Duration::from_millis(50),
            running.shutdown.subscribe(),
        ));
    }

    /// A dev token for this data directory, as `dev token` prints it.
    pub fn token(&self, sub: &str) -> String {
        local::start::dev_token(
            &self.data_dir,
            None,
            sub,
            std::time::Duration::from_secs(3600),
            &[],
            None,
            &[],
        )
        .unwrap()
    }

    pub fn request(&self, method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> Resp {
        http(self.port, method, path, headers, body)
    }

    pub fn post(&self, path: &str, token: Option<&str>, body: &Value) -> Resp {
        post_json(self.port, path, token, body)
    }

    pub fn stats(&self) -> Value {
        let r = self.request("GET", "/_dev/stats", &[], "");
        assert_eq!(r.status, 200, "{}", r.body);
        r.json()
    }

    pub fn invocations(&self) -> u64 {
        let s = self.stats();
        s["invocations"]
            .as_object()
            .unwrap()
            .values()
            .map(|v| v.as_u64().unwrap())
            .sum()
    }

    /// Stops everything in order (moto saves its state).
    pub fn stop(mut self) {
        if let Some(r) = self.running.take() {
            r.shutdown.send_replace(true);
            self.rt.block_on(r.stop());
        }
    }
}

impl Drop for Dev {
    fn drop(&mut self) {
        if let Some(r) = self.running.take() {
            r.shutdown.send_replace(true);
            self.rt.block_on(r.stop());
        }
    }
}

/// Signs `claims` with the dev's own signing key (kid from its JWKS).
pub fn sign_with_dev_key(dev: &Dev, claims: &Value) -> String {
    let pem = std::fs::read(dev.data_dir.join("jwt-signing-key.pem")).unwrap();
    let jwks = dev.request("GET", "/.well-known/jwks.json", &[], "").json();
    let kid = jwks["keys"][0]["kid"].as_str().unwrap().to_string();
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256);
    header.kid = Some(kid);
    jsonwebtoken::encode(
        &header,
        claims,
        &jsonwebtoken::EncodingKey::from_rsa_pem(&pem).unwrap(),
    )
    .unwrap()
}
