//! `ci-role`: what a GitHub Actions workflow needs to deploy a stage without
//! stored keys, as a small CloudFormation template: GitHub's OIDC provider
//! and a role that only workflows of one repository, on one branch, may
//! assume, with the stage's deployer policy inline
//! (<https://docs.github.com/en/actions/security-for-github-actions/security-hardening-your-deployments/configuring-openid-connect-in-amazon-web-services>,
//! <https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_providers_create_oidc.html>).

use crate::error::{failed, Result};
use serde_json::{json, Value};

/// GitHub Actions' OIDC issuer host.
pub const GITHUB_OIDC_HOST: &str = "token.actions.githubusercontent.com";
/// The audience GitHub's AWS credentials action asks for.
pub const GITHUB_AUDIENCE: &str = "sts.amazonaws.com";

/// A GitHub `OWNER/REPO` and branch, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    pub repo: String,
    pub branch: String,
}

impl Source {
    /// Refuses what GitHub would never put in a token's `sub`, and wildcards
    /// (a `*` in the condition would let other repositories or branches in).
    pub fn new(repo: &str, branch: &str) -> Result<Self> {
        let part_ok = |p: &str| {
            !p.is_empty()
                && p.len() <= 100
                && p.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
        };
        match repo.split_once('/') {
            Some((owner, name)) if part_ok(owner) && part_ok(name) => {}
            _ => {
                return Err(failed!(
                    "--github `{repo}` is not OWNER/REPO (letters, digits, '-', '_', '.'; no wildcard): give the repository whose workflows may deploy, e.g. --github my-org/voice-learning."
                ))
            }
        }
        let branch_ok = !branch.is_empty()
            && branch.len() <= 200
            && !branch.starts_with('/')
            && !branch.contains("..")
            && branch
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_./".contains(&b));
        if !branch_ok {
            return Err(failed!(
                "--branch `{branch}` is not a branch name (letters, digits, '-', '_', '.', '/'; no wildcard): give the branch that deploys, e.g. --branch main."
            ));
        }
        Ok(Source {
            repo: repo.to_string(),
            branch: branch.to_string(),
        })
    }

    /// The token `sub` of a workflow run on the branch.
    pub fn subject(&self) -> String {
        format!("repo:{}:ref:refs/heads/{}", self.repo, self.branch)
    }
}

/// The role's name for the stage (`voice-learning-ci-deployer[-stage]`).
pub fn role_name(stage: Option<&str>) -> String {
    match stage {
        Some(s) => format!("voice-learning-ci-deployer-{s}"),
        None => "voice-learning-ci-deployer".into(),
    }
}

/// The role's trust policy: GitHub's provider, this audience, exactly this
/// repository and branch (`StringEquals`, so no pattern widens it).
pub fn trust_policy(provider_arn: &str, source: &Source) -> Value {
    json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "GitHubActionsOfOneBranch",
            "Effect": "Allow",
            "Principal": {"Federated": provider_arn},
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {"StringEquals": {
                format!("{GITHUB_OIDC_HOST}:aud"): GITHUB_AUDIENCE,
                format!("{GITHUB_OIDC_HOST}:sub"): source.subject(),
            }},
        }],
    })
}

/// The template: the provider (unless the account has one: pass its ARN),
/// the role, the stage's deployer policy as managed policies attached to
/// it, and the role's ARN as output.
pub fn template(
    stage: Option<&str>,
    account: &str,
    region: &str,
    source: &Source,
    existing_provider: Option<&str>,
) -> Result<Value> {
    let p = stack::partition::Partition::of(region).map_or("aws", |p| p.id);
    let provider_arn = existing_provider
        .map(str::to_string)
        .unwrap_or_else(|| format!("arn:{p}:iam::{account}:oidc-provider/{GITHUB_OIDC_HOST}"));
    let mut resources = serde_json::Map::new();
    if existing_provider.is_none() {
        resources.insert(
            "GitHubOidcProvider".into(),
            json!({
                "Type": "AWS::IAM::OIDCProvider",
                "Properties": {
                    "Url": format!("https://{GITHUB_OIDC_HOST}"),
                    "ClientIdList": [GITHUB_AUDIENCE],
                },
            }),
        );
    }
    let mut role = json!({
        "Type": "AWS::IAM::Role",
        "Properties": {
            "RoleName": role_name(stage),
            "Description": format!("GitHub Actions of {} on {} deploy this stage", source.repo, source.branch),
            "MaxSessionDuration": 3600,
            "AssumeRolePolicyDocument": trust_policy(&provider_arn, source),
        },
    });
    if existing_provider.is_none() {
        role["DependsOn"] = json!("GitHubOidcProvider");
    }
    resources.insert("CiDeployerRole".into(), role);
    // The deployer policy is larger than one managed policy (or a role's
    // inline policies together) may be: attached in parts.
    let parts = crate::deployer_policy::split(
        &crate::deployer_policy::policy(stage, account, region)?,
        crate::deployer_policy::MANAGED_POLICY_MAX_CHARS,
    )?;
    for (i, doc) in parts.into_iter().enumerate() {
        resources.insert(
            format!("DeployerPolicy{}", i + 1),
            json!({
                "Type": "AWS::IAM::ManagedPolicy",
                "Properties": {
                    "Description": format!("Deploying {}, part {}", stack::Names::new(stage)?.stack, i + 1),
                    "PolicyDocument": doc,
                    "Roles": [{"Ref": "CiDeployerRole"}],
                },
            }),
        );
    }
    Ok(json!({
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": format!("Keyless deploys of {} from GitHub Actions", stack::Names::new(stage)?.stack),
        "Resources": resources,
        "Outputs": {"RoleArn": {"Value": {"Fn::GetAtt": ["CiDeployerRole", "Arn"]}}},
    }))
}
