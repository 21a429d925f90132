//! The dependency rules. `cargo xtask deny`: cargo-deny passes on the
//! repository's `deny.toml`, fails when a licence the graph uses is no
//! longer allowed, crates.io is no longer an allowed source or a crate
//! comes in two versions without a listed reason, and never passes
//! advisories silently. The Python lock files pin every requirement with
//! the hashes pip checks.

use crate::support::*;

fn run_deny(rules: Option<&std::path::Path>) -> Run {
    let dir = std::env::temp_dir();
    let mut args = vec!["deny", "--offline"];
    let path;
    if let Some(r) = rules {
        path = r.to_str().unwrap().to_string();
        args.extend(["--rules", &path]);
    }
    // cargo-deny runs `cargo metadata`: the real toolchain and registry cache.
    let home = std::path::PathBuf::from(std::env::var_os("HOME").unwrap_or_default());
    let from_env = |k: &str, default: &str| {
        std::env::var(k).unwrap_or_else(|_| home.join(default).display().to_string())
    };
    let env = [
        ("CARGO_HOME", from_env("CARGO_HOME", ".cargo")),
        ("RUSTUP_HOME", from_env("RUSTUP_HOME", ".rustup")),
    ];
    run_cmd(xtask(&dir, &env, &args))
}

/// The repository's rules with `from` replaced by `to` (which must occur).
fn rules_with(name: &str, from: &str, to: &str) -> std::path::PathBuf {
    let text = std::fs::read_to_string(emulator::workspace_root().join("deny.toml")).unwrap();
    assert!(text.contains(from), "deny.toml has no {from:?}");
    let path = std::env::temp_dir().join(format!("deny-{name}-{}.toml", std::process::id()));
    std::fs::write(&path, text.replace(from, to)).unwrap();
    path
}

#[test]
fn the_crate_graph_passes_and_advisories_are_never_a_silent_pass() {
    let r = run_deny(None);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert!(
        r.stdout.contains("licences, bans and sources ok"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("advisories NOT CHECKED"), "{}", r.stdout);
}

#[test]
fn a_licence_no_longer_allowed_fails() {
    let rules = rules_with("licence", "    \"MIT\",\n", "");
    let r = run_deny(Some(&rules));
    assert_eq!(r.code, 1, "{}\n{}", r.stdout, r.stderr);
    assert!(
        r.stderr.contains("license is not explicitly allowed"),
        "{}",
        r.stderr
    );
    assert!(r.stdout.contains("FAILED"), "{}", r.stdout);
}

#[test]
fn a_source_that_is_not_allowed_fails() {
    let rules = rules_with(
        "source",
        "allow-registry = [\"https://github.com/rust-lang/crates.io-index\"]",
        "allow-registry = [\"https://example.com/index\"]",
    );
    let r = run_deny(Some(&rules));
    assert_eq!(r.code, 1, "{}\n{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("source"), "{}", r.stderr);
}

#[test]
fn a_second_version_of_a_heavy_crate_fails() {
    // Without its listed exception, a crate in two versions fails: so
    // would a second tokio or hyper, which no exception names.
    let rules = rules_with(
        "dupes",
        "    { crate = \"digest\", reason = \"RustCrypto's digest 0.10 to 0.11 transition\" },\n",
        "",
    );
    let r = run_deny(Some(&rules));
    assert_eq!(r.code, 1, "{}\n{}", r.stdout, r.stderr);
    assert!(
        r.stderr
            .contains("found 2 duplicate entries for crate 'digest'"),
        "{}",
        r.stderr
    );
}

/// Every `requirements*.txt` pin is in its lock at the same version, and
/// every package of every lock carries at least one hash (pip installs
/// with `--require-hashes`, which refuses a package without one).
#[test]
fn python_locks_pin_every_requirement_with_hashes() {
    let norm = |n: &str| {
        n.split('[')
            .next()
            .unwrap()
            .trim()
            .to_ascii_lowercase()
            .replace(['_', '.'], "-")
    };
    for venv in emulator::Venv::all() {
        let txt = std::fs::read_to_string(&venv.requirements).unwrap();
        let lock = std::fs::read_to_string(&venv.constraints).unwrap();
        // `name==version \` followed by its `--hash=` lines.
        let mut locked: Vec<(String, String, usize)> = vec![];
        for line in lock.lines() {
            let t = line.trim();
            if let Some(h) = t.strip_prefix("--hash=sha256:") {
                assert_eq!(h.trim_end_matches(" \\").len(), 64, "{line}");
                locked.last_mut().expect("a hash after a pin").2 += 1;
            } else if let Some((n, v)) = t.trim_end_matches('\\').trim().split_once("==") {
                if !t.starts_with('#') {
                    locked.push((norm(n), v.trim().to_string(), 0));
                }
            }
        }
        assert!(!locked.is_empty(), "{}", venv.constraints.display());
        for (n, v, hashes) in &locked {
            assert!(
                *hashes > 0,
                "{}: {n}=={v} has no hash",
                venv.constraints.display()
            );
        }
        for line in txt
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
        {
            let (n, v) = line.split_once("==").expect("an exact pin");
            assert!(
                locked
                    .iter()
                    .any(|(ln, lv, _)| *ln == norm(n) && lv == v.trim()),
                "{line} of {} is not pinned in {}: run `cargo xtask deps --relock`",
                venv.requirements.display(),
                venv.constraints.display()
            );
        }
    }
}
