//! `stages` and `outputs` against moto: the module's stacks only, with
//! status and last update; a stage's outputs; a missing stage in one sentence.

use crate::support::*;

#[test]
fn stages_lists_the_deployed_copies_and_outputs_reads_one() {
    let h = Harness::start("stages");
    let empty = h.run(&["stages", "--json"]).ok().json();
    assert_eq!(empty["stages"], serde_json::json!([]), "{empty}");
    let zips = h.zips("v1", "s", "c");
    let dir = zips.to_str().unwrap();
    for stage in [None, Some("qa")] {
        let mut args = vec![
            "deploy",
            "--no-verify",
            "--artifacts-dir",
            dir,
            "--user-pool-id",
            POOL_ID,
            "--user-pool-client-id",
            CLIENT_ID,
            "--yes",
        ];
        if let Some(s) = stage {
            args.extend(["--stage", s]);
        }
        h.run(&args).ok();
    }
    let j = h.run(&["stages", "--json"]).ok().json();
    crate::json_output::documented(&j);
    assert_eq!(j["account"], "123456789012");
    assert_eq!(j["region"], "us-east-1");
    let stages = j["stages"].as_array().unwrap();
    assert_eq!(stages.len(), 2, "{j}");
    assert_eq!(stages[0]["stage"], serde_json::Value::Null);
    assert_eq!(stages[0]["stack"], STACK);
    assert_eq!(stages[1]["stage"], "qa");
    for s in stages {
        assert_eq!(s["status"], "CREATE_COMPLETE");
        let when = s["lastUpdated"].as_str().unwrap();
        assert!(when.len() >= 20 && when.ends_with('Z'), "{when}");
    }
    let text = h.run(&["stages"]).ok().stdout;
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "account 123456789012, region us-east-1");
    assert!(lines[1].starts_with("stage") && lines[1].contains("last update"));
    // Aligned: the status column starts at the same place on every row.
    let col = lines[1].find("status").unwrap();
    for l in &lines[2..] {
        assert!(l[col..].starts_with("CREATE_COMPLETE"), "{text}");
    }

    let o = h.run(&["outputs", "--stage", "qa", "--json"]).ok().json();
    crate::json_output::documented(&o);
    assert_eq!(o["stack"], format!("{STACK}-qa"));
    assert!(o["outputs"].is_object(), "{o}");
    // Each function's `live` alias, on the version the create published.
    let live = o["live"].as_array().unwrap_or_else(|| panic!("{o}"));
    assert_eq!(live.len(), 2, "{o}");
    for l in live {
        assert_eq!(l["version"], "1", "{o}");
        assert!(
            l["codeKey"]
                .as_str()
                .is_some_and(|k| k.starts_with("code/")),
            "{o}"
        );
    }
    let none = h.run(&["outputs", "--stage", "nope"]).failed();
    assert!(
        none.stderr
            .contains("VoiceLearningAssistantStack-nope does not exist in account 123456789012"),
        "{}",
        none.stderr
    );
}

#[test]
fn only_this_modules_stack_names_are_stages() {
    use deploy::stages::stage_of;
    assert_eq!(stage_of(STACK), Some(None));
    assert_eq!(stage_of(&format!("{STACK}-qa")), Some(Some("qa".into())));
    assert_eq!(stage_of("OtherStack"), None);
    assert_eq!(stage_of(&format!("{STACK}-Bad_Stage")), None);
}
