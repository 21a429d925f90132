//! The stack's safety catches: the stack policy every deploy sets (moto
//! keeps stack policies, and its CloudFormation serves no termination
//! protection: the deploy says so), `--no-protection` taking it off.
//! Termination protection itself is checked on MiniStack
//! (`ministack::every_option_deploys_on_a_stage_and_turns_off_again`).

use crate::support::Moto;
use serde_json::{json, Value};
use testkit::account::STACK;

fn stack_policy(m: &Moto) -> Value {
    let out = m
        .account
        .block_on(m.account.cfn().get_stack_policy().stack_name(STACK).send())
        .unwrap();
    serde_json::from_str(out.stack_policy_body().unwrap_or("null")).unwrap()
}

#[test]
fn the_policy_denies_replacing_or_deleting_exactly_the_retained_resources() {
    let t = stack::synth(&stack::StackOptions::default())
        .unwrap()
        .to_json_value();
    let mut ids = deploy::protection::protected(&t);
    ids.sort();
    assert_eq!(ids, ["DataKey", "SessionsTable", "UserProfilesTable"]);
    let p = deploy::protection::stack_policy(&ids);
    assert_eq!(
        p["Statement"][1],
        json!({
            "Effect": "Deny",
            "Action": ["Update:Replace", "Update:Delete"],
            "Principal": "*",
            "Resource": ["LogicalResourceId/DataKey", "LogicalResourceId/SessionsTable", "LogicalResourceId/UserProfilesTable"],
        })
    );
    assert_eq!(p["Statement"][0]["Action"], "Update:*");
}

#[test]
fn every_deploy_sets_the_stack_policy_and_no_protection_lifts_it() {
    let m = Moto::start("protection");
    let zips = m.zips("v1", "#!/bin/sh\n", "#!/bin/sh\n");
    let mut opts = m.deploy_options(&zips);
    opts.yes = true;
    let (r, report) = m.deploy(&opts);
    assert!(r.is_ok(), "{}{r:?}", report.text());
    let p = stack_policy(&m);
    assert_eq!(p["Statement"][1]["Effect"], "Deny", "{p}");
    assert!(
        report
            .text()
            .contains("termination protection is not set: the endpoint"),
        "moto serves no UpdateTerminationProtection: {}",
        report.text()
    );

    // A no-op deploy with --no-protection takes the policy off.
    opts.protect = false;
    let (r, report) = m.deploy(&opts);
    assert!(r.is_ok(), "{}{r:?}", report.text());
    assert_eq!(
        stack_policy(&m),
        deploy::protection::stack_policy(&[]),
        "{}",
        report.text()
    );
    // And the next deploy puts it back.
    opts.protect = true;
    let (r, report) = m.deploy(&opts);
    assert!(r.is_ok(), "{}{r:?}", report.text());
    assert_eq!(stack_policy(&m)["Statement"][1]["Effect"], "Deny");
}
