//! `xtask.toml` (here through XTASK_CONFIG): a stage's settings stand in
//! for flags, a flag wins, and a bad file is one sentence naming it.

use crate::support::*;

#[test]
fn a_stages_settings_stand_in_for_its_flags() {
    let h = Harness::start("config");
    let file = h.dir.join("xtask.toml");
    std::fs::write(
        &file,
        format!(
            "[default]\nalarm_email = \"\"\n\n[stages.cfg]\nuser_pool_id = \"{POOL_ID}\"\nuser_pool_client_id = \"{CLIENT_ID}\"\n"
        ),
    )
    .unwrap();
    let zips = h.zips("v1", "s", "c");
    let dir = zips.to_str().unwrap();
    let with_config = |args: &[&str]| {
        let mut c = h.command(args);
        c.env("XTASK_CONFIG", &file);
        run_cmd(c)
    };
    // A first deploy needs the pool: here it comes from the file.
    with_config(&[
        "deploy",
        "--no-verify",
        "--stage",
        "cfg",
        "--artifacts-dir",
        dir,
        "--yes",
    ])
    .ok();
    let params = h.account.stack_params(&format!("{STACK}-cfg"));
    assert_eq!(params["UserPoolId"], POOL_ID);
    assert_eq!(params["UserPoolClientId"], CLIENT_ID);

    // A flag wins over the file.
    let d = with_config(&[
        "diff",
        "--json",
        "--stage",
        "cfg",
        "--artifacts-dir",
        dir,
        "--user-pool-id",
        "eu-west-1_Other123",
    ])
    .ok()
    .json();
    let pool = d["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "UserPoolId")
        .cloned()
        .expect("the pool id changes");
    assert_eq!(pool["old"], POOL_ID);
    assert_eq!(pool["new"], "eu-west-1_Other123");

    // A bad file: one sentence naming it.
    std::fs::write(&file, "[stages.cfg]\nuser_pool = \"x\"\n").unwrap();
    let r = with_config(&["diff", "--stage", "cfg", "--artifacts-dir", dir]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("xtask.toml is not a valid settings file")
            && r.stderr.contains("user_pool"),
        "{}",
        r.stderr
    );
}
