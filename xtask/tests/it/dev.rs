//! `cargo xtask dev` as a user runs it (the built binary, a free port, its
//! own data directory), over plain HTTP: the deployment guide's flows with
//! the real functions (built by dev itself), SIGINT stopping every process
//! of the run, `dev token`, a busy port.

use emulator::{alive, children_of};
use serde_json::{json, Value};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};
use testkit::http::{claims_of, http, post_json, Resp};

pub fn xtask() -> Command {
    Command::new(env!("CARGO_BIN_EXE_xtask"))
}

/// A fresh data directory.
pub fn data_dir(name: &str) -> PathBuf {
    testkit::scratch_dir(&format!("dev-{name}"))
}

pub struct Dev {
    pub child: Option<Child>,
    pub port: u16,
    pub data_dir: PathBuf,
    pub log: PathBuf,
    pub stdout: Vec<String>,
}

impl Dev {
    /// Starts `xtask dev --port <free> <extra…>` with `data_dir` and waits for `ready:`.
    pub fn start_in(data_dir: &Path, extra: &[&str], ready_timeout: Duration) -> Dev {
        let port = emulator::free_port().unwrap();
        let log = data_dir.join(format!("dev-{port}.log"));
        let child = xtask()
            .args(["dev", "--port", &port.to_string()])
            .args(extra)
            .env("XTASK_DEV_DIR", data_dir)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        let mut dev = Dev {
            child: Some(child),
            port,
            data_dir: data_dir.to_path_buf(),
            log,
            stdout: vec![],
        };
        let stdout = dev.child.as_mut().unwrap().stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let deadline = Instant::now() + ready_timeout;
        loop {
            match rx.recv_timeout(Duration::from_millis(200)) {
                Ok(line) => {
                    let ready = line.starts_with("ready: ");
                    dev.stdout.push(line);
                    if ready {
                        break;
                    }
                }
                Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
                Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
                    panic!("dev exited before ready:\n{}", dev.log_text())
                }
            }
            if Instant::now() > deadline {
                panic!(
                    "dev not ready within {ready_timeout:?}:\n{}",
                    dev.log_text()
                );
            }
        }
        // Keep draining stdout (the curl examples) so dev never blocks on it.
        std::thread::spawn(move || for _ in rx.iter() {});
        assert_eq!(
            dev.stdout.last().unwrap(),
            &format!("ready: http://127.0.0.1:{port}")
        );
        dev
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().unwrap().id()
    }

    /// `xtask dev token` for this dev's data directory.
    pub fn token(&self, sub: &str) -> String {
        self.token_in(sub, &[])
    }

    /// `xtask dev token --group G…`: a user in those Cognito groups.
    pub fn token_in(&self, sub: &str, groups: &[&str]) -> String {
        let mut args = vec!["dev", "token", "--sub", sub];
        for g in groups {
            args.extend(["--group", g]);
        }
        let out = xtask()
            .args(&args)
            .env("XTASK_DEV_DIR", &self.data_dir)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let t = String::from_utf8(out.stdout).unwrap();
        assert_eq!(t.trim().lines().count(), 1, "only the token: {t}");
        t.trim().to_string()
    }

    /// POST with a bearer token (or none) and a JSON body.
    pub fn post(&self, path: &str, token: Option<&str>, body: &Value) -> Resp {
        post_json(self.port, path, token, body)
    }

    pub fn stats(&self) -> Value {
        let r = http(self.port, "GET", "/_dev/stats", &[], "");
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

    /// Sends SIGINT and waits for dev to exit.
    pub fn interrupt(&mut self, timeout: Duration) -> ExitStatus {
        let mut child = self.child.take().unwrap();
        let ok = Command::new("kill")
            .args(["-INT", &child.id().to_string()])
            .status()
            .unwrap();
        assert!(ok.success());
        let start = Instant::now();
        loop {
            if let Some(st) = child.try_wait().unwrap() {
                return st;
            }
            if start.elapsed() > timeout {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "dev did not stop within {timeout:?} after SIGINT:\n{}",
                    self.log_text()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Dev {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            // Stop it in order so moto and the functions go too.
            let _ = Command::new("kill")
                .args(["-INT", &c.id().to_string()])
                .status();
            let start = Instant::now();
            while start.elapsed() < Duration::from_secs(20) {
                if let Ok(Some(_)) = c.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn ok(r: &Resp, what: &str) -> Value {
    assert!(
        (200..300).contains(&r.status),
        "{what}: {} {}",
        r.status,
        r.body
    );
    r.json()
}

fn ids(list: &Value) -> Vec<String> {
    list["sessions"]
        .as_array()
        .unwrap_or_else(|| panic!("no sessions in {list}"))
        .iter()
        .map(|s| s["sessionId"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn the_deployment_guides_flows_and_the_rest_of_the_api() {
    let dir = data_dir("e2e");
    // The first build of the functions can take minutes on a cold cache.
    let mut dev = Dev::start_in(&dir, &[], Duration::from_secs(900));
    let printed = dev.stdout.join("\n");
    assert!(printed.contains("ready: http://127.0.0.1:"), "{printed}");
    let alice = dev.token("alice");
    let bob = dev.token("bob");

    // The deployment guide's create and add_turn.
    let created = ok(
        &dev.post(
            "/sessions",
            Some(&alice),
            &json!({"action": "create", "session": {"currentTopic": "JavaScript Basics", "mode": "tutor"}}),
        ),
        "create",
    );
    let session = &created["session"];
    let id = session["sessionId"].as_str().unwrap().to_string();
    assert_eq!(session["currentTopic"], "JavaScript Basics");
    assert_eq!(session["mode"], "tutor");
    let added = ok(
        &dev.post(
            "/context",
            Some(&alice),
            &json!({"action": "add_turn", "sessionId": id, "turn": {"role": "user", "content": "What is a closure?", "language": "en"}}),
        ),
        "add_turn",
    );
    assert_eq!(
        added["context"]["turns"][0]["content"],
        "What is a closure?"
    );
    // An assistant turn needs a token in the writer group (`dev token --group`).
    let assistant_turn = json!({"action": "add_turn", "sessionId": id, "turn": {"role": "assistant", "content": "A function with the variables it closes over.", "language": "en"}});
    let refused = dev.post("/context", Some(&alice), &assistant_turn);
    assert_eq!(refused.status, 403, "{}", refused.body);
    assert_eq!(refused.json()["error"]["code"], "forbidden_role");
    let alice_writer = dev.token_in("alice", &["assistant-writers"]);
    ok(
        &dev.post("/context", Some(&alice_writer), &assistant_turn),
        "add_turn 2",
    );

    // get_context: both turns, in order.
    let ctx = ok(
        &dev.post(
            "/context",
            Some(&alice),
            &json!({"action": "get_context", "sessionId": id}),
        ),
        "get_context",
    );
    let turns: Vec<&str> = ctx["context"]["turns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["content"].as_str().unwrap())
        .collect();
    assert_eq!(
        turns,
        [
            "What is a closure?",
            "A function with the variables it closes over."
        ]
    );

    // list and restore.
    let list = ok(
        &dev.post("/sessions", Some(&alice), &json!({"action": "list"})),
        "list",
    );
    assert_eq!(ids(&list), vec![id.clone()]);
    let restored = ok(
        &dev.post("/sessions", Some(&alice), &json!({"action": "restore"})),
        "restore",
    );
    assert_eq!(restored["session"]["sessionId"], id.as_str());
    assert_eq!(restored["context"]["turns"].as_array().unwrap().len(), 2);

    // update with the current version; a stale version is a conflict.
    let got = ok(
        &dev.post(
            "/sessions",
            Some(&alice),
            &json!({"action": "get", "sessionId": id}),
        ),
        "get",
    );
    let version = got["session"]["version"].as_u64().unwrap();
    let updated = ok(
        &dev.post(
            "/sessions",
            Some(&alice),
            &json!({"action": "update", "sessionId": id, "version": version, "session": {"currentTopic": "Closures"}}),
        ),
        "update",
    );
    assert_eq!(updated["session"]["currentTopic"], "Closures");
    let stale = dev.post(
        "/sessions",
        Some(&alice),
        &json!({"action": "update", "sessionId": id, "version": version, "session": {"currentTopic": "Again"}}),
    );
    assert_eq!(stale.status, 409, "{}", stale.body);

    // Bob sees nothing of Alice's: 404 like a missing session, an empty list.
    for (path, body) in [
        ("/sessions", json!({"action": "get", "sessionId": id})),
        (
            "/context",
            json!({"action": "get_context", "sessionId": id}),
        ),
        (
            "/context",
            json!({"action": "add_turn", "sessionId": id, "turn": {"role": "user", "content": "hi", "language": "en"}}),
        ),
        ("/sessions", json!({"action": "delete", "sessionId": id})),
    ] {
        let r = dev.post(path, Some(&bob), &body);
        assert_eq!(r.status, 404, "bob {body}: {}", r.body);
        assert!(!r.body.contains("What is a closure"), "{}", r.body);
    }
    let bobs = ok(
        &dev.post("/sessions", Some(&bob), &json!({"action": "list"})),
        "bob list",
    );
    assert!(ids(&bobs).is_empty(), "{bobs}");
    let r = dev.post("/sessions", Some(&bob), &json!({"action": "restore"}));
    assert_eq!(r.status, 404, "{}", r.body);
    // Alice's session is untouched by Bob's attempts.
    let ctx = ok(
        &dev.post(
            "/context",
            Some(&alice),
            &json!({"action": "get_context", "sessionId": id}),
        ),
        "get_context after bob",
    );
    assert_eq!(ctx["context"]["turns"].as_array().unwrap().len(), 2);

    // delete: gone for Alice too.
    ok(
        &dev.post(
            "/sessions",
            Some(&alice),
            &json!({"action": "delete", "sessionId": id}),
        ),
        "delete",
    );
    let r = dev.post(
        "/sessions",
        Some(&alice),
        &json!({"action": "get", "sessionId": id}),
    );
    assert_eq!(r.status, 404, "{}", r.body);
    let list = ok(
        &dev.post("/sessions", Some(&alice), &json!({"action": "list"})),
        "list after delete",
    );
    assert!(ids(&list).is_empty(), "{list}");

    // The function's own 401 never shows: the gateway refuses first.
    let before = dev.invocations();
    let r = dev.post("/sessions", None, &json!({"action": "list"}));
    assert_eq!(r.status, 401);
    assert_eq!(dev.invocations(), before);

    // SIGINT stops every process of the run: dev, moto, the functions.
    let stats = dev.stats();
    let mut pids = vec![
        stats["pids"]["dev"].as_u64().unwrap() as u32,
        stats["pids"]["moto"].as_u64().unwrap() as u32,
    ];
    for list in stats["pids"]["functions"].as_object().unwrap().values() {
        for p in list.as_array().unwrap() {
            pids.push(p.as_u64().unwrap() as u32);
        }
    }
    assert!(pids.len() >= 4, "{stats}");
    assert_eq!(pids[0], dev.pid());
    let descendants = children_of(dev.pid());
    assert!(descendants.len() >= 3, "{descendants:?}");
    let status = dev.interrupt(Duration::from_secs(30));
    assert!(status.success(), "{status}");
    for p in pids.iter().chain(&descendants) {
        assert!(
            !alive(*p),
            "process {p} of the run is still there after SIGINT"
        );
    }
    assert!(dir.join("default/moto-state.pickle").exists());
}

#[test]
fn dev_token_prints_only_a_token_with_the_asked_lifetime() {
    let dir = data_dir("token");
    let out = xtask()
        .args(["dev", "token", "--sub", "carol", "--ttl", "30m"])
        .env("XTASK_DEV_DIR", &dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(stdout.lines().count(), 1);
    let c = claims_of(stdout.trim());
    assert_eq!(c["sub"], "carol");
    let ttl = c["exp"].as_u64().unwrap() - c["iat"].as_u64().unwrap();
    assert_eq!(ttl, 1800);
    let bad = xtask()
        .args(["dev", "token", "--ttl", "soon"])
        .env("XTASK_DEV_DIR", &dir)
        .output()
        .unwrap();
    assert!(!bad.status.success());
    let why = String::from_utf8_lossy(&bad.stderr);
    assert!(
        why.contains("--ttl") && why.contains("not a duration"),
        "{why}"
    );
    // One rule for every duration flag: a bare number names no unit.
    let bare = xtask()
        .args(["dev", "token", "--ttl", "90"])
        .env("XTASK_DEV_DIR", &dir)
        .output()
        .unwrap();
    assert!(!bare.status.success());
    let why = String::from_utf8_lossy(&bare.stderr);
    assert!(why.contains("90s, 90m, 90h or 90d"), "{why}");
}

#[test]
fn a_busy_port_is_a_clear_error() {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let out = xtask()
        .args(["dev", "--port", &port.to_string()])
        .env("XTASK_DEV_DIR", data_dir("busy"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--port"), "{err}");
}
