//! The cost-allocation tags: set on the stack by every change set, so
//! CloudFormation propagates them to the resources; a deploy whose only
//! difference is missing tags is not a no-op.

use crate::support::Moto;
use deploy::apply::Outcome;
use std::collections::BTreeMap;

fn stack_tags(m: &Moto, name: &str) -> BTreeMap<String, String> {
    let out = m
        .account
        .block_on(m.account.cfn().describe_stacks().stack_name(name).send())
        .unwrap();
    out.stacks()[0]
        .tags()
        .iter()
        .map(|t| {
            (
                t.key().unwrap_or_default().to_string(),
                t.value().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

#[test]
fn the_stack_carries_project_and_stage_tags_on_moto() {
    let m = Moto::start("tags");
    let zips = m.zips("v1", "session v1", "context v1");
    let opts = deploy::options::DeployOptions {
        yes: true,
        ..m.deploy_options(&zips)
    };
    let (r, report) = m.deploy(&opts);
    assert_eq!(r.expect("deploy"), Outcome::Deployed, "{}", report.text());
    let tags = stack_tags(&m, "VoiceLearningAssistantStack");
    assert_eq!(
        tags,
        BTreeMap::from([
            ("Project".to_string(), "VoiceLearningAssistant".to_string()),
            ("Stage".to_string(), "default".to_string()),
        ])
    );
    // Nothing else changed: the tags are not a difference.
    let (r, report) = m.deploy(&opts);
    assert_eq!(r.expect("no-op"), Outcome::NoChanges, "{}", report.text());

    // A stage names itself.
    let staged = deploy::options::DeployOptions {
        stage: Some("qa".into()),
        ..opts.clone()
    };
    let (r, report) = m.deploy(&staged);
    assert_eq!(
        r.expect("deploy qa"),
        Outcome::Deployed,
        "{}",
        report.text()
    );
    assert_eq!(
        stack_tags(&m, "VoiceLearningAssistantStack-qa")["Stage"],
        "qa"
    );
}

#[test]
fn missing_or_different_tags_make_a_deploy_update_the_stack() {
    use deploy::tags::{missing, stack_tags};
    assert!(missing(&BTreeMap::new(), None));
    assert!(!missing(&stack_tags(None), None));
    assert!(missing(&stack_tags(None), Some("qa")));
    let mut more = stack_tags(Some("qa"));
    more.insert("Owner".into(), "team".into());
    assert!(
        !missing(&more, Some("qa")),
        "other tags of the user are kept"
    );
}
