//! The evaluator on AWS's documented examples (the pages `access.rs`
//! cites).

use super::*;
use serde_json::json;

const ROLE: &str = "arn:aws:iam::111122223333:role/ExampleRole";
const KEY: &str = "arn:aws:kms:us-west-2:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";

fn decrypt() -> Request {
    Request::by_role(ROLE, "kms:Decrypt", KEY)
}

fn allow_root() -> Value {
    json!({"Statement": [{"Sid": "Enable IAM policies", "Effect": "Allow",
        "Principal": {"AWS": "arn:aws:iam::111122223333:root"},
        "Action": "kms:*", "Resource": "*"}]})
}

#[test]
fn explicit_deny_overrides_allow() {
    let identity = json!({"Statement": [
        {"Effect": "Allow", "Action": "dynamodb:*", "Resource": "*"},
        {"Effect": "Deny", "Action": "dynamodb:DeleteItem", "Resource": "arn:aws:dynamodb:*:*:table/Books"}]});
    let del = Request::by_role(
        ROLE,
        "dynamodb:DeleteItem",
        "arn:aws:dynamodb:us-west-2:111122223333:table/Books",
    );
    assert_eq!(
        evaluate_identity(&del, &[&identity]),
        Ok(Decision::ExplicitDeny)
    );
    let get = Request {
        action: "dynamodb:GetItem".into(),
        ..del
    };
    assert_eq!(evaluate_identity(&get, &[&identity]), Ok(Decision::Allow));
    assert_eq!(evaluate_identity(&get, &[]), Ok(Decision::ImplicitDeny));
}

#[test]
fn a_key_policy_without_the_account_makes_identity_policies_ineffective() {
    let identity =
        json!({"Statement": [{"Effect": "Allow", "Action": "kms:Decrypt", "Resource": KEY}]});
    let only_admin = json!({"Statement": [{"Effect": "Allow",
        "Principal": {"AWS": "arn:aws:iam::111122223333:role/KeyAdmin"},
        "Action": "kms:*", "Resource": "*"}]});
    assert_eq!(
        evaluate_kms(&decrypt(), &only_admin, &[&identity]),
        Ok(Decision::ImplicitDeny)
    );
    assert_eq!(
        evaluate_kms(&decrypt(), &allow_root(), &[&identity]),
        Ok(Decision::Allow)
    );
    // The root statement alone grants nothing to the role.
    assert_eq!(
        evaluate_kms(&decrypt(), &allow_root(), &[]),
        Ok(Decision::ImplicitDeny)
    );
    // A key policy naming the role allows without an identity policy.
    let names_role = json!({"Statement": [{"Effect": "Allow", "Principal": {"AWS": ROLE},
        "Action": ["kms:Decrypt"], "Resource": "*"}]});
    assert_eq!(
        evaluate_kms(&decrypt(), &names_role, &[]),
        Ok(Decision::Allow)
    );
}

#[test]
fn via_service_and_caller_account_restrict_the_delegation() {
    // The default-key-policy-style statement for DynamoDB (KMS developer guide, kms:ViaService).
    let key = json!({"Statement": [{"Effect": "Allow",
        "Principal": {"AWS": "arn:aws:iam::111122223333:root"},
        "Action": ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"],
        "Resource": "*",
        "Condition": {"StringEquals": {
            "kms:ViaService": ["ec2.us-west-2.amazonaws.com", "rds.us-west-2.amazonaws.com"],
            "kms:CallerAccount": "111122223333"}}}]});
    let identity =
        json!({"Statement": [{"Effect": "Allow", "Action": "kms:Decrypt", "Resource": KEY}]});
    let via_rds = decrypt().via("rds.us-west-2.amazonaws.com");
    assert_eq!(
        evaluate_kms(&via_rds, &key, &[&identity]),
        Ok(Decision::Allow)
    );
    let via_s3 = decrypt().via("s3.us-west-2.amazonaws.com");
    assert_eq!(
        evaluate_kms(&via_s3, &key, &[&identity]),
        Ok(Decision::ImplicitDeny)
    );
    assert_eq!(
        evaluate_kms(&decrypt(), &key, &[&identity]),
        Ok(Decision::ImplicitDeny),
        "a direct call carries no kms:ViaService"
    );
    let other_account = Request::by_role(
        "arn:aws:iam::444455556666:role/ExampleRole",
        "kms:Decrypt",
        KEY,
    )
    .via("rds.us-west-2.amazonaws.com");
    assert_eq!(
        evaluate_kms(&other_account, &key, &[&identity]),
        Ok(Decision::ImplicitDeny)
    );
}

#[test]
fn for_all_values_is_true_for_a_missing_key_so_null_must_guard_it() {
    // KMS developer guide, kms:EncryptionContextKeys: "ForAllValues ... returns true
    // if there are no encryption context keys in the request".
    let loose = json!({"Statement": [{"Effect": "Allow", "Action": "kms:Decrypt", "Resource": KEY,
        "Condition": {"ForAllValues:StringEquals": {"kms:EncryptionContextKeys": ["AppName", "FilePath"]}}}]});
    let guarded = json!({"Statement": [{"Effect": "Allow", "Action": "kms:Decrypt", "Resource": KEY,
        "Condition": {"ForAllValues:StringEquals": {"kms:EncryptionContextKeys": ["AppName", "FilePath"]},
                      "Null": {"kms:EncryptionContextKeys": "false"}}}]});
    let bare = decrypt();
    assert_eq!(
        evaluate_kms(&bare, &allow_root(), &[&loose]),
        Ok(Decision::Allow)
    );
    assert_eq!(
        evaluate_kms(&bare, &allow_root(), &[&guarded]),
        Ok(Decision::ImplicitDeny)
    );
    let subset = decrypt().encryption_context(&[("AppName", "ExampleApp")]);
    assert_eq!(
        evaluate_kms(&subset, &allow_root(), &[&guarded]),
        Ok(Decision::Allow)
    );
    let extra = decrypt().encryption_context(&[("AppName", "a"), ("Other", "b")]);
    assert_eq!(
        evaluate_kms(&extra, &allow_root(), &[&guarded]),
        Ok(Decision::ImplicitDeny)
    );
    let any = json!({"Statement": [{"Effect": "Allow", "Action": "kms:Decrypt", "Resource": KEY,
        "Condition": {"ForAnyValue:StringEquals": {"kms:EncryptionContextKeys": "AppName"}}}]});
    assert_eq!(
        evaluate_kms(&bare, &allow_root(), &[&any]),
        Ok(Decision::ImplicitDeny)
    );
    assert_eq!(
        evaluate_kms(&extra, &allow_root(), &[&any]),
        Ok(Decision::Allow)
    );
}

#[test]
fn values_are_ored_keys_and_operators_are_anded_and_if_exists_tolerates_absence() {
    let st = |cond: Value| json!({"Statement": [{"Effect": "Allow", "Action": "kms:Decrypt", "Resource": "*", "Condition": cond}]});
    let both = st(
        json!({"StringEquals": {"kms:EncryptionContext:Dept": ["IT", "HR"], "kms:ViaService": "s3.us-west-2.amazonaws.com"}}),
    );
    let it = decrypt()
        .encryption_context(&[("Dept", "HR")])
        .via("s3.us-west-2.amazonaws.com");
    assert_eq!(
        evaluate_kms(&it, &allow_root(), &[&both]),
        Ok(Decision::Allow)
    );
    let direct = decrypt().encryption_context(&[("Dept", "HR")]);
    assert_eq!(
        evaluate_kms(&direct, &allow_root(), &[&both]),
        Ok(Decision::ImplicitDeny)
    );
    let if_exists =
        st(json!({"StringEqualsIfExists": {"kms:ViaService": "s3.us-west-2.amazonaws.com"}}));
    assert_eq!(
        evaluate_kms(&direct, &allow_root(), &[&if_exists]),
        Ok(Decision::Allow)
    );
}

#[test]
fn arn_and_string_wildcards_and_case_insensitive_actions() {
    assert!(arn_like(
        "arn:aws:logs:us-west-2:111122223333:log-group:*",
        "arn:aws:logs:us-west-2:111122223333:log-group:/aws/lambda/f"
    ));
    assert!(!arn_like(
        "arn:aws:logs:us-west-2:111122223333:log-group:*",
        "arn:aws:logs:us-west-2:444455556666:log-group:/aws/lambda/f"
    ));
    assert!(arn_like(
        "arn:aws:iam::*:role/ExampleRole",
        "arn:aws:iam::111122223333:role/ExampleRole"
    ));
    assert!(glob("kms:reencrypt*", "kms:reencryptfrom"));
    assert!(glob("a?c*", "abcdef") && !glob("a?c", "abcd"));
    let lower =
        json!({"Statement": [{"Effect": "Allow", "Action": "KMS:decrypt", "Resource": "*"}]});
    assert_eq!(
        evaluate_kms(&decrypt(), &allow_root(), &[&lower]),
        Ok(Decision::Allow)
    );
}

#[test]
fn what_it_does_not_model_is_an_error() {
    let not_action =
        json!({"Statement": [{"Effect": "Allow", "NotAction": "kms:Decrypt", "Resource": "*"}]});
    assert!(matches!(
        evaluate_identity(&decrypt(), &[&not_action]),
        Err(EvalError::Unsupported(_))
    ));
    let numeric = json!({"Statement": [{"Effect": "Allow", "Action": "kms:Decrypt", "Resource": "*",
        "Condition": {"NumericLessThan": {"aws:MultiFactorAuthAge": "3600"}}}]});
    assert!(matches!(
        evaluate_identity(&decrypt(), &[&numeric]),
        Err(EvalError::Unsupported(_))
    ));
}
/// "Condition key names are not case-sensitive. For example, including
/// the aws:SourceIP condition key is equivalent to testing for
/// AWS:SourceIp" (reference_policies_elements_condition.html).
#[test]
fn condition_key_names_are_not_case_sensitive() {
    let identity = json!({"Statement": [{"Effect": "Allow", "Action": "kms:Decrypt",
        "Resource": "*", "Condition": {"StringEquals": {"KMS:ViaService": "s3.us-west-2.amazonaws.com"}}}]});
    let via_s3 = decrypt().via("s3.us-west-2.amazonaws.com");
    assert_eq!(
        evaluate_identity(&via_s3, &[&identity]),
        Ok(Decision::Allow)
    );
    let via_rds = decrypt().via("rds.us-west-2.amazonaws.com");
    assert_eq!(
        evaluate_identity(&via_rds, &[&identity]),
        Ok(Decision::ImplicitDeny)
    );
}

/// `"Null": {"aws:TokenIssueTime": "true"}` is true when the key is
/// absent (reference_policies_elements_condition_operators.html#Conditions_Null);
/// `TRUE` reads the same.
#[test]
fn null_reads_its_value_without_case() {
    for value in ["true", "TRUE", "True"] {
        let identity = json!({"Statement": [{"Effect": "Allow", "Action": "kms:Decrypt",
            "Resource": "*", "Condition": {"Null": {"aws:TokenIssueTime": value}}}]});
        assert_eq!(
            evaluate_identity(&decrypt(), &[&identity]),
            Ok(Decision::Allow),
            "{value}"
        );
        let with = decrypt().with("aws:TokenIssueTime", "2026-12-07T10:00:00Z");
        assert_eq!(
            evaluate_identity(&with, &[&identity]),
            Ok(Decision::ImplicitDeny),
            "{value}"
        );
    }
}

/// A misspelt `Condition` would make a statement unconditional: it is an
/// error instead.
#[test]
fn an_unknown_statement_element_is_an_error() {
    let identity = json!({"Statement": [{"Effect": "Allow", "Action": "kms:Decrypt",
        "Resource": "*", "Conditions": {"StringEquals": {"kms:ViaService": "s3.us-west-2.amazonaws.com"}}}]});
    assert!(matches!(
        evaluate_identity(&decrypt(), &[&identity]),
        Err(EvalError::Malformed(m)) if m.contains("Conditions")
    ));
}
