//! `ci-role`: the trust policy lets exactly one repository's branch assume
//! the role (evaluated with `stack::access`, as STS would for a GitHub
//! Actions token), and the deployer policy is attached in parts that each
//! fit one managed policy.

use deploy::ci_role::{template, trust_policy, Source, GITHUB_AUDIENCE};
use deploy::deployer_policy::{policy, split, MANAGED_POLICY_MAX_CHARS};
use stack::access::{evaluate_trust, Decision, Request};

const ACCOUNT: &str = "111122223333";
const PROVIDER: &str =
    "arn:aws:iam::111122223333:oidc-provider/token.actions.githubusercontent.com";
const ROLE: &str = "arn:aws:iam::111122223333:role/voice-learning-ci-deployer";

fn decide(aud: &str, sub: &str, provider: &str) -> Decision {
    let source = Source::new("my-org/voice-learning", "main").unwrap();
    let trust = trust_policy(PROVIDER, &source);
    evaluate_trust(&Request::by_web_identity(provider, ROLE, aud, sub), &trust).unwrap()
}

#[test]
fn only_the_repositorys_branch_may_assume_the_role() {
    let main = "repo:my-org/voice-learning:ref:refs/heads/main";
    assert_eq!(decide(GITHUB_AUDIENCE, main, PROVIDER), Decision::Allow);
    for (what, aud, sub, provider) in [
        (
            "another repository",
            GITHUB_AUDIENCE,
            "repo:my-org/other:ref:refs/heads/main",
            PROVIDER,
        ),
        (
            "a look-alike repository",
            GITHUB_AUDIENCE,
            "repo:my-org/voice-learning-fork:ref:refs/heads/main",
            PROVIDER,
        ),
        (
            "a pull request (a fork's too)",
            GITHUB_AUDIENCE,
            "repo:my-org/voice-learning:pull_request",
            PROVIDER,
        ),
        (
            "another branch",
            GITHUB_AUDIENCE,
            "repo:my-org/voice-learning:ref:refs/heads/feature",
            PROVIDER,
        ),
        (
            "a tag",
            GITHUB_AUDIENCE,
            "repo:my-org/voice-learning:ref:refs/tags/main",
            PROVIDER,
        ),
        ("another audience", "https://example.com", main, PROVIDER),
        (
            "another provider",
            GITHUB_AUDIENCE,
            main,
            "arn:aws:iam::111122223333:oidc-provider/gitlab.com",
        ),
    ] {
        assert_eq!(decide(aud, sub, provider), Decision::ImplicitDeny, "{what}");
    }
}

#[test]
fn wildcards_and_malformed_sources_are_refused() {
    for (repo, branch) in [
        ("my-org/*", "main"),
        ("voice-learning", "main"),
        ("my-org/voice learning", "main"),
        ("my-org/voice-learning", "*"),
        ("my-org/voice-learning", "a..b"),
        ("my-org/voice-learning", ""),
    ] {
        assert!(Source::new(repo, branch).is_err(), "{repo} {branch}");
    }
    assert!(Source::new("my-org/voice-learning", "release/2026.12").is_ok());
}

#[test]
fn the_deployer_policy_is_attached_in_parts_that_fit_a_managed_policy() {
    let whole = policy(Some("qa"), ACCOUNT, "us-east-1").unwrap();
    let chars = |v: &serde_json::Value| serde_json::to_string(v).unwrap().len();
    // One document is more than a managed policy (or a role's inline
    // policies together, 10,240) may hold: IAM would refuse it.
    assert!(
        chars(&whole) > MANAGED_POLICY_MAX_CHARS,
        "{}",
        chars(&whole)
    );
    let source = Source::new("my-org/voice-learning", "main").unwrap();
    let t = template(Some("qa"), ACCOUNT, "us-east-1", &source, None).unwrap();
    let resources = t["Resources"].as_object().unwrap();
    let mut statements = vec![];
    for (id, r) in resources
        .iter()
        .filter(|(_, r)| r["Type"] == "AWS::IAM::ManagedPolicy")
    {
        let doc = &r["Properties"]["PolicyDocument"];
        assert!(
            chars(doc) <= MANAGED_POLICY_MAX_CHARS,
            "{id}: {}",
            chars(doc)
        );
        assert_eq!(
            r["Properties"]["Roles"],
            serde_json::json!([{"Ref": "CiDeployerRole"}])
        );
        statements.extend(doc["Statement"].as_array().unwrap().iter().cloned());
    }
    assert_eq!(
        &statements,
        whole["Statement"].as_array().unwrap(),
        "every statement once, in order"
    );
    assert_eq!(
        resources["CiDeployerRole"]["Properties"]["RoleName"],
        "voice-learning-ci-deployer-qa"
    );
    assert_eq!(
        resources["GitHubOidcProvider"]["Properties"]["ClientIdList"],
        serde_json::json!([GITHUB_AUDIENCE])
    );
    // With the account's provider given, none is created.
    let t = template(Some("qa"), ACCOUNT, "us-east-1", &source, Some(PROVIDER)).unwrap();
    assert!(t["Resources"].get("GitHubOidcProvider").is_none());
    // The split itself: nothing lost, each part within the limit.
    let parts = split(&whole, 4_000).unwrap();
    assert!(parts.len() >= 3);
    assert!(parts.iter().all(|p| chars(p) <= 4_000));
    assert!(
        split(&whole, 100).is_err(),
        "a statement larger than the limit is an error"
    );
}

/// With a CloudFormation service role the two policies fit where docs/deploying.md
/// puts them: the role's as its inline policy (10,240 characters for all of
/// a role's inline policies), the narrowed caller's as one managed policy.
#[test]
fn the_service_role_policies_fit_iams_size_limits() {
    use deploy::deployer_policy::{policy_for, Audience};
    let chars = |v: &serde_json::Value| serde_json::to_string(v).unwrap().len();
    for stage in [None, Some("qa")] {
        let role = policy_for(Audience::CloudFormationRole, stage, ACCOUNT, "us-east-1").unwrap();
        assert!(chars(&role) <= 10_240, "{}", chars(&role));
        let caller =
            policy_for(Audience::CallerWithRole(ROLE), stage, ACCOUNT, "us-east-1").unwrap();
        assert!(
            chars(&caller) <= MANAGED_POLICY_MAX_CHARS,
            "{}",
            chars(&caller)
        );
    }
}
