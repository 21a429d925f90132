//! IAM statement changes and the widening rule.

use cfn_plan::iam::{diff, glob, widens, Sign};
use serde_json::{json, Value};

fn role(statements: Value) -> Value {
    json!({"Resources": {"R": {"Type": "AWS::IAM::Role", "Properties": {
        "AssumeRolePolicyDocument": {"Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]},
        "Policies": [{"PolicyName": "p", "PolicyDocument": {"Version": "2012-10-17", "Statement": statements}}]
    }}}})
}

fn base() -> Value {
    role(json!([
        {"Effect": "Allow", "Action": ["dynamodb:GetItem", "dynamodb:PutItem"], "Resource": {"Fn::GetAtt": ["T", "Arn"]}},
        {"Effect": "Deny", "Action": "dynamodb:DeleteTable", "Resource": "*"}
    ]))
}

#[test]
fn a_role_policy_resource_and_an_anonymous_route_are_widening() {
    let mut new = base();
    new["Resources"]["Extra"] = json!({
        "Type": "AWS::IAM::RolePolicy",
        "Properties": {"RoleName": {"Ref": "Role"}, "PolicyName": "x", "PolicyDocument": {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}}
    });
    assert!(
        widens(&diff(&base(), &new)),
        "RolePolicy allowing * not flagged"
    );

    let route = |auth: &str| {
        let mut t = base();
        t["Resources"]["R"] = json!({"Type": "AWS::ApiGatewayV2::Route",
            "Properties": {"RouteKey": "POST /sessions", "AuthorizationType": auth}});
        t
    };
    assert!(
        widens(&diff(&route("JWT"), &route("NONE"))),
        "JWT -> NONE not flagged"
    );
    assert!(
        !widens(&diff(&route("NONE"), &route("JWT"))),
        "NONE -> JWT is a narrowing"
    );
}

#[test]
fn identical_templates_have_no_changes() {
    assert!(diff(&base(), &base()).is_empty());
}

#[test]
fn a_new_action_is_widening() {
    let new = role(json!([
        {"Effect": "Allow", "Action": ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Scan"], "Resource": {"Fn::GetAtt": ["T", "Arn"]}},
        {"Effect": "Deny", "Action": "dynamodb:DeleteTable", "Resource": "*"}
    ]));
    let changes = diff(&base(), &new);
    assert!(widens(&changes), "{changes:#?}");
    let added = changes.iter().find(|c| c.sign == Sign::Added).unwrap();
    assert!(added.widening);
    assert!(added.stmt.actions.contains(&"dynamodb:Scan".to_string()));
    assert_eq!(added.stmt.resources, vec!["${T.Arn}".to_string()]);
    assert_eq!(added.stmt.principals, vec!["AWS:${R}".to_string()]);
    // The old statement shows as removed, but removing an Allow never widens.
    assert!(changes
        .iter()
        .any(|c| c.sign == Sign::Removed && !c.widening));
}

#[test]
fn a_new_resource_is_widening() {
    let new = role(json!([
        {"Effect": "Allow", "Action": ["dynamodb:GetItem", "dynamodb:PutItem"], "Resource": [{"Fn::GetAtt": ["T", "Arn"]}, {"Fn::GetAtt": ["Other", "Arn"]}]},
        {"Effect": "Deny", "Action": "dynamodb:DeleteTable", "Resource": "*"}
    ]));
    assert!(widens(&diff(&base(), &new)));
}

#[test]
fn a_removed_deny_is_widening() {
    let new = role(json!([
        {"Effect": "Allow", "Action": ["dynamodb:GetItem", "dynamodb:PutItem"], "Resource": {"Fn::GetAtt": ["T", "Arn"]}}
    ]));
    let changes = diff(&base(), &new);
    assert_eq!(changes.len(), 1);
    assert_eq!(changes[0].sign, Sign::Removed);
    assert_eq!(changes[0].stmt.effect, "Deny");
    assert!(changes[0].widening);
}

#[test]
fn a_narrowing_is_not_widening() {
    // One action fewer.
    let fewer_actions = role(json!([
        {"Effect": "Allow", "Action": ["dynamodb:GetItem"], "Resource": {"Fn::GetAtt": ["T", "Arn"]}},
        {"Effect": "Deny", "Action": "dynamodb:DeleteTable", "Resource": "*"}
    ]));
    let changes = diff(&base(), &fewer_actions);
    assert!(!changes.is_empty());
    assert!(!widens(&changes), "{changes:#?}");
    // A condition added to the same grant.
    let conditioned = role(json!([
        {"Effect": "Allow", "Action": ["dynamodb:GetItem", "dynamodb:PutItem"], "Resource": {"Fn::GetAtt": ["T", "Arn"]},
         "Condition": {"ForAllValues:StringEquals": {"dynamodb:LeadingKeys": ["x"]}}},
        {"Effect": "Deny", "Action": "dynamodb:DeleteTable", "Resource": "*"}
    ]));
    assert!(!widens(&diff(&base(), &conditioned)));
    // A Deny added.
    let more_deny = role(json!([
        {"Effect": "Allow", "Action": ["dynamodb:GetItem", "dynamodb:PutItem"], "Resource": {"Fn::GetAtt": ["T", "Arn"]}},
        {"Effect": "Deny", "Action": ["dynamodb:DeleteTable", "dynamodb:DeleteItem"], "Resource": "*"}
    ]));
    assert!(!widens(&diff(&base(), &more_deny)));
}

#[test]
fn a_removed_condition_is_widening() {
    let conditioned = role(json!([
        {"Effect": "Allow", "Action": ["dynamodb:GetItem"], "Resource": "*", "Condition": {"StringEquals": {"aws:SourceAccount": "1"}}}
    ]));
    let open = role(json!([{"Effect": "Allow", "Action": ["dynamodb:GetItem"], "Resource": "*"}]));
    assert!(widens(&diff(&conditioned, &open)));
    assert!(!widens(&diff(&open, &conditioned)));
}

#[test]
fn wildcards_cover_specific_grants() {
    let wide = role(json!([{"Effect": "Allow", "Action": "dynamodb:*", "Resource": "*"}]));
    let specific = role(
        json!([{"Effect": "Allow", "Action": "dynamodb:GetItem", "Resource": {"Fn::GetAtt": ["T", "Arn"]}}]),
    );
    assert!(!widens(&diff(&wide, &specific)));
    assert!(widens(&diff(&specific, &wide)));
}

#[test]
fn first_deploy_of_the_real_stack_is_all_widening() {
    let t = crate::template();
    let changes = diff(&Value::Null, &t);
    assert!(changes
        .iter()
        .all(|c| c.sign == Sign::Added && (c.widening || c.stmt.effect == "Deny")));
    // Both roles, the key policy and both Lambda permissions are there.
    for src in [
        "SessionPersistenceRole",
        "ContextManagerRole",
        "DataKey",
        "SessionPersistenceInvokePermission",
        "ContextManagerInvokePermission",
    ] {
        assert!(
            changes.iter().any(|c| c.stmt.source == src),
            "{src} missing"
        );
    }
    assert!(diff(&t, &t).is_empty());
}

#[test]
fn glob_matches_like_iam() {
    assert!(glob("dynamodb:*", "dynamodb:getitem"));
    assert!(glob("*", "anything"));
    assert!(glob("arn:aws:s3:::b/*", "arn:aws:s3:::b/k"));
    assert!(glob("arn:aws:s3:::b/?", "arn:aws:s3:::b/k"));
    assert!(!glob("arn:aws:s3:::b/?", "arn:aws:s3:::b/*"));
    assert!(!glob("dynamodb:get*", "dynamodb:putitem"));
    assert!(glob("kms:?ecrypt", "kms:decrypt"));
}

#[test]
fn a_statement_behind_a_template_condition_counts_as_granted() {
    // `Fn::If [condition, statement, AWS::NoValue]`: in effect whenever the
    // parameters make the condition true, so adding it widens.
    let mut new = base();
    new["Resources"]["R"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
        .as_array_mut()
        .unwrap()
        .push(json!({"Fn::If": ["BackupEnabled",
            {"Effect": "Allow", "Action": "dynamodb:CreateBackup", "Resource": {"Fn::GetAtt": ["T", "Arn"]}},
            {"Ref": "AWS::NoValue"}]}));
    let changes = diff(&base(), &new);
    assert_eq!(changes.len(), 1, "{changes:?}");
    assert_eq!(changes[0].stmt.actions, vec!["dynamodb:CreateBackup"]);
    assert!(widens(&changes));
}
