//! MiniStack starts on a port of its own (two side by side), answers, and is
//! gone with its data directory once dropped.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

fn get(port: u16, path: &str) -> String {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(s, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out
}

#[test]
fn two_instances_answer_and_stop_with_their_data() {
    let t = Instant::now();
    let a = emulator::ministack::MiniStack::start(Default::default()).expect("MiniStack starts");
    eprintln!("first MiniStack ready in {:?}", t.elapsed());
    let b = emulator::ministack::MiniStack::start(Default::default()).expect("a second one too");
    assert_ne!(a.port(), b.port());
    for m in [&a, &b] {
        let health = get(m.port(), "/_ministack/health");
        assert!(health.starts_with("HTTP/1.1 200"), "{health}");
        assert!(m.data_dir().is_dir());
    }
    let (pid, dir) = (a.pid(), a.data_dir().to_path_buf());
    drop(a);
    assert!(
        !emulator::alive(pid),
        "MiniStack {pid} still runs after drop"
    );
    assert!(!dir.exists(), "{} is left behind", dir.display());
    // The other one is unaffected.
    assert!(get(b.port(), "/_ministack/health").starts_with("HTTP/1.1 200"));
}
