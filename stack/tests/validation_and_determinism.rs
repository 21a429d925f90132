//! The validation pass names the culprit; output is deterministic.

use stack::expr::{r#ref, s};
use stack::model::Parameter;
use stack::resources::{KmsAlias, LogGroup};
use stack::{Resource, StackError, Template};

fn base() -> Template {
    let mut t = Template {
        description: "test".into(),
        ..Template::default()
    };
    t.resource(
        "Logs",
        Resource::new(LogGroup {
            log_group_name: "/test".into(),
            retention_in_days: 30,
            kms_key_id: s("arn:aws:kms:us-east-1:123456789012:key/x"),
            tags: None,
        }),
    );
    t
}

fn problems(t: &Template) -> Vec<String> {
    match stack::validate::validate(t) {
        Err(StackError::Invalid(p)) => p,
        other => panic!("expected invalid, got {other:?}"),
    }
}

#[test]
fn base_template_is_valid() {
    stack::validate::validate(&base()).unwrap();
}

#[test]
fn ref_to_a_missing_resource_is_named() {
    let mut t = base();
    t.resource(
        "Alias",
        Resource::new(KmsAlias {
            alias_name: s("alias/x"),
            target_key_id: r#ref("NoSuchKey"),
        }),
    );
    let p = problems(&t);
    assert_eq!(p.len(), 1, "{p:?}");
    assert!(
        p[0].contains("resource `Alias`") && p[0].contains("NoSuchKey"),
        "{}",
        p[0]
    );
}

#[test]
fn unused_parameter_is_named() {
    let mut t = base();
    t.parameter("Forgotten", Parameter::string("never referenced"));
    let p = problems(&t);
    assert_eq!(p.len(), 1, "{p:?}");
    assert!(
        p[0].contains("parameter `Forgotten`") && p[0].contains("never used"),
        "{}",
        p[0]
    );
}

#[test]
fn duplicate_logical_id_is_named() {
    let mut t = base();
    t.resource(
        "Logs",
        Resource::new(LogGroup {
            log_group_name: "/other".into(),
            retention_in_days: 7,
            kms_key_id: s("k"),
            tags: None,
        }),
    );
    let p = problems(&t);
    assert!(
        p.iter()
            .any(|m| m.contains("`Logs`") && m.contains("duplicate")),
        "{p:?}"
    );
}

#[test]
fn getatt_and_sub_to_missing_resources_are_named() {
    let mut t = base();
    t.resource(
        "Alias",
        Resource::new(KmsAlias {
            alias_name: stack::expr::sub("alias/${Missing.Arn}-${AWS::Region}"),
            target_key_id: stack::expr::get_att("Gone", "Arn"),
        }),
    );
    let p = problems(&t);
    assert!(p.iter().any(|m| m.contains("Gone.Arn")), "{p:?}");
    assert!(p.iter().any(|m| m.contains("Missing.Arn")), "{p:?}");
}

#[test]
fn invalid_logical_id_is_named() {
    let mut t = base();
    t.resource(
        "bad-id",
        Resource::new(LogGroup {
            log_group_name: "/x".into(),
            retention_in_days: 1,
            kms_key_id: s("k"),
            tags: None,
        }),
    );
    let p = problems(&t);
    assert!(p.iter().any(|m| m.contains("`bad-id`")), "{p:?}");
}

#[test]
fn resource_limit_is_enforced() {
    let mut t = base();
    for i in 0..500 {
        t.resource(
            &format!("Logs{i}"),
            Resource::new(LogGroup {
                log_group_name: format!("/x{i}"),
                retention_in_days: 1,
                kms_key_id: s("k"),
                tags: None,
            }),
        );
    }
    let p = problems(&t);
    assert!(p.iter().any(|m| m.contains("501 resources")), "{p:?}");
}

#[test]
fn two_synths_are_byte_identical() {
    let a = stack::synth(&Default::default()).unwrap();
    let b = stack::synth(&Default::default()).unwrap();
    assert_eq!(a.to_yaml(), b.to_yaml());
    assert_eq!(a.to_json(), b.to_json());
}

#[test]
fn yaml_and_json_are_the_same_document() {
    let t = stack::synth(&Default::default()).unwrap();
    let from_yaml: serde_json::Value = serde_norway::from_str(&t.to_yaml()).unwrap();
    let from_json: serde_json::Value = serde_json::from_str(&t.to_json()).unwrap();
    assert_eq!(from_yaml, from_json);
    assert_eq!(from_json, t.to_json_value());
}

#[test]
fn bad_stage_is_rejected_before_synth() {
    let err = stack::synth(&stack::StackOptions {
        stage: Some("Prod!".into()),
        ..Default::default()
    })
    .unwrap_err();
    assert!(
        err.to_string().contains("invalid stage name `Prod!`"),
        "{err}"
    );
}
