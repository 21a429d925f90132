//! The functions' published versions and the `live` alias the API invokes:
//! which code is live, and `rollback`, which points the alias at an earlier
//! version in one `UpdateAlias` per function, without CloudFormation.
//!
//! Each version's description is the stack's (`stack::module`): a digest of
//! the function's configuration, then its code key (`code/<sha256>.zip`)
//! and the parameters it reads; a version `--hotswap` published says so.
//! A rollback leaves the stack's own version resource where it was: the next
//! deploy that changes the function publishes a new version and moves the
//! alias to it; `rollback --to` goes forward again
//! (<https://docs.aws.amazon.com/lambda/latest/dg/configuration-aliases.html>).

use crate::aws::{self, explain};
use crate::error::{failed, Result};
use crate::options::AwsOptions;
use crate::stack_state::require_stack;
use serde::Serialize;
use stack::function::LIVE_ALIAS;
use stack::Function;

/// One function's live version.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LiveVersion {
    pub function: String,
    /// The version `live` points at.
    pub version: String,
    /// The zip it runs, from the version's description (when it names one).
    pub code_key: Option<String>,
    /// The version's description.
    pub description: String,
}

/// One published version.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PublishedVersion {
    pub version: u64,
    pub code_key: Option<String>,
    pub description: String,
}

/// One function's versions and which is live (`rollback --list`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FunctionVersions {
    pub function: String,
    /// `None`: no `live` alias (a stack deployed before versions).
    pub live: Option<String>,
    /// Oldest first.
    pub versions: Vec<PublishedVersion>,
}

/// `rollback --list`'s result.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VersionList {
    pub functions: Vec<FunctionVersions>,
}

/// What `rollback` did to one function.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Moved {
    pub function: String,
    pub from: String,
    pub to: String,
    /// The zip the version now live runs.
    pub code_key: Option<String>,
}

/// `rollback`'s result.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RollbackResult {
    pub stack: String,
    pub functions: Vec<Moved>,
}

/// The code key a version's description names: its first word ending in
/// `.zip`.
pub fn code_key_of(description: &str) -> Option<String> {
    description
        .split_whitespace()
        .find(|w| w.ends_with(".zip"))
        .map(str::to_string)
}

/// The version `live` points at, and what it runs. `Ok(None)`: the
/// function has no `live` alias (a stack deployed before versions).
pub async fn live(lambda: &aws_sdk_lambda::Client, function: &str) -> Result<Option<LiveVersion>> {
    let alias = match lambda
        .get_alias()
        .function_name(function)
        .name(LIVE_ALIAS)
        .send()
        .await
    {
        Ok(a) => a,
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_resource_not_found_exception()) =>
        {
            return Ok(None)
        }
        Err(e) => {
            return Err(failed!(
                "reading {function}'s {LIVE_ALIAS} alias: {}",
                aws::error_chain(&e)
            ))
        }
    };
    let version = alias.function_version().unwrap_or("$LATEST").to_string();
    let description = lambda
        .get_function_configuration()
        .function_name(function)
        .qualifier(&version)
        .send()
        .await
        .map_err(|e| {
            failed!(
                "reading {function} version {version}: {}",
                aws::error_chain(&e)
            )
        })?
        .description()
        .unwrap_or_default()
        .to_string();
    Ok(Some(LiveVersion {
        function: function.to_string(),
        code_key: code_key_of(&description),
        version,
        description,
    }))
}

/// Every published version of `function`, oldest first (`$LATEST` is not one).
pub async fn published(
    lambda: &aws_sdk_lambda::Client,
    function: &str,
) -> Result<Vec<PublishedVersion>> {
    let mut out = vec![];
    let mut pages = lambda
        .list_versions_by_function()
        .function_name(function)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page =
            page.map_err(|e| failed!("listing {function}'s versions: {}", aws::error_chain(&e)))?;
        for v in page.versions() {
            let Some(n) = v.version().and_then(|n| n.parse().ok()) else {
                continue;
            };
            let description = v.description().unwrap_or_default().to_string();
            out.push(PublishedVersion {
                version: n,
                code_key: code_key_of(&description),
                description,
            });
        }
    }
    out.sort_by_key(|v| v.version);
    Ok(out)
}

/// Where `rollback` takes one function: `to`, else the newest version
/// older than the live one. Pure, so every refusal is decided before any
/// alias moves.
pub fn target(
    function: &str,
    live: &str,
    versions: &[PublishedVersion],
    to: Option<u64>,
) -> Result<u64> {
    let live_n: Option<u64> = live.parse().ok();
    match to {
        Some(to) => {
            if !versions.iter().any(|v| v.version == to) {
                let have: Vec<String> = versions.iter().map(|v| v.version.to_string()).collect();
                return Err(failed!(kind = Refused,
                    "{function} has no version {to}: its published versions are {}; `cargo xtask rollback --list` shows them with their code.",
                    if have.is_empty() { "none".to_string() } else { have.join(", ") }
                ));
            }
            if live_n == Some(to) {
                return Err(failed!(kind = Refused,
                    "{function}'s {LIVE_ALIAS} alias already points at version {to}: nothing to do."
                ));
            }
            Ok(to)
        }
        None => {
            let Some(live_n) = live_n else {
                return Err(failed!(kind = Refused,
                    "{function}'s {LIVE_ALIAS} alias points at {live}, not a published version: name one with --to."
                ));
            };
            versions
                .iter()
                .rev()
                .map(|v| v.version)
                .find(|v| *v < live_n)
                .ok_or_else(|| {
                    failed!(kind = Refused,
                        "{function} has no version older than the live one ({live_n}), so there is nothing to roll back to; `cargo xtask rollback --list` shows its versions."
                    )
                })
        }
    }
}

/// The stage's functions `only` names (all when `None`), with their
/// physical names.
async fn functions_of(
    aws: &aws::Aws,
    stack: &str,
    names: &stack::Names,
    only: Option<Function>,
) -> Result<Vec<String>> {
    require_stack(aws, stack).await?;
    Ok(Function::ALL
        .iter()
        .filter(|f| only.is_none_or(|o| o == **f))
        .map(|f| f.function_name(names).to_string())
        .collect())
}

/// Every version of the stage's functions, and which is live.
pub async fn list(
    aws_opts: &AwsOptions,
    stage: Option<&str>,
    only: Option<Function>,
) -> Result<VersionList> {
    let names = crate::options::names(stage)?;
    let aws = aws::connect(aws_opts).await?;
    let lambda = crate::record::recorded_client!(aws_sdk_lambda, &aws.conf);
    let mut out = vec![];
    for f in functions_of(&aws, &names.stack, &names, only).await? {
        out.push(FunctionVersions {
            live: live(&lambda, &f).await?.map(|l| l.version),
            versions: published(&lambda, &f).await?,
            function: f,
        });
    }
    Ok(VersionList { functions: out })
}

/// Points each function's `live` alias at `to` (or its previous version).
/// Every function's target is decided first: a refusal moves nothing.
pub async fn rollback(
    aws_opts: &AwsOptions,
    stage: Option<&str>,
    only: Option<Function>,
    to: Option<u64>,
) -> Result<RollbackResult> {
    let names = crate::options::names(stage)?;
    let aws = aws::connect(aws_opts).await?;
    let lambda = crate::record::recorded_client!(aws_sdk_lambda, &aws.conf);
    let mut plan = vec![];
    for f in functions_of(&aws, &names.stack, &names, only).await? {
        let Some(current) = live(&lambda, &f).await? else {
            return Err(failed!(
                "{f} has no {LIVE_ALIAS} alias: the stack was deployed before versions; `cargo xtask deploy` adds them (going back then means deploying the older commit)."
            ));
        };
        let versions = published(&lambda, &f).await?;
        let target = target(&f, &current.version, &versions, to)?;
        let code_key = versions
            .iter()
            .find(|v| v.version == target)
            .and_then(|v| v.code_key.clone());
        plan.push((f, current, target, code_key));
    }
    let mut moved = vec![];
    for (f, current, target, code_key) in plan {
        lambda
            .update_alias()
            .function_name(&f)
            .name(LIVE_ALIAS)
            .function_version(target.to_string())
            .send()
            .await
            .map_err(|e| {
                explain(
                    e,
                    &format!("pointing {f}'s {LIVE_ALIAS} alias at version {target}"),
                    &aws.target(),
                )
            })?;
        moved.push(Moved {
            function: f,
            from: current.version,
            to: target.to_string(),
            code_key,
        });
    }
    Ok(RollbackResult {
        stack: names.stack,
        functions: moved,
    })
}

/// Publishes what `function`'s `$LATEST` runs now and points `live` at it:
/// how new code reaches the API without CloudFormation (`--hotswap`).
pub async fn publish_live(
    lambda: &aws_sdk_lambda::Client,
    function: &str,
    description: &str,
    target: &aws::Target,
) -> Result<String> {
    let published = lambda
        .publish_version()
        .function_name(function)
        .description(description)
        .send()
        .await
        .map_err(|e| explain(e, &format!("publishing a version of {function}"), target))?;
    let version = published.version().unwrap_or_default().to_string();
    lambda
        .update_alias()
        .function_name(function)
        .name(LIVE_ALIAS)
        .function_version(&version)
        .send()
        .await
        .map_err(|e| {
            explain(
                e,
                &format!("pointing {function}'s {LIVE_ALIAS} alias at version {version}"),
                target,
            )
        })?;
    Ok(version)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(n: u64) -> PublishedVersion {
        PublishedVersion {
            version: n,
            code_key: Some(format!("code/{n}.zip")),
            description: format!("abcd1234 code/{n}.zip arm64"),
        }
    }

    #[test]
    fn the_previous_version_is_the_newest_older_one() {
        let versions = [v(1), v(2), v(4)];
        assert_eq!(target("f", "4", &versions, None).unwrap(), 2);
        assert_eq!(target("f", "2", &versions, None).unwrap(), 1);
        let first = target("f", "1", &versions, None).unwrap_err().to_string();
        assert!(
            first.contains("no version older than the live one (1)"),
            "{first}"
        );
        let latest = target("f", "$LATEST", &versions, None)
            .unwrap_err()
            .to_string();
        assert!(latest.contains("name one with --to"), "{latest}");
    }

    #[test]
    fn to_must_name_another_published_version() {
        let versions = [v(1), v(2)];
        assert_eq!(target("f", "1", &versions, Some(2)).unwrap(), 2);
        let missing = target("f", "2", &versions, Some(3))
            .unwrap_err()
            .to_string();
        assert!(
            missing.contains("has no version 3: its published versions are 1, 2"),
            "{missing}"
        );
        let same = target("f", "2", &versions, Some(2))
            .unwrap_err()
            .to_string();
        assert!(same.contains("already points at version 2"), "{same}");
    }

    #[test]
    fn the_code_key_comes_from_the_description() {
        assert_eq!(
            code_key_of("0a1b2c3d code/ff00.zip arm64 Active info amazon").as_deref(),
            Some("code/ff00.zip")
        );
        assert_eq!(
            code_key_of("hotswap code/ee.zip").as_deref(),
            Some("code/ee.zip")
        );
        assert_eq!(code_key_of("made by hand"), None);
    }
}
