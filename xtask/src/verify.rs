//! `cargo xtask verify`: after a deploy, checks that what runs in the account
//! is what the design says: names, PITR, TTL, SSE with the key, key rotation,
//! function runtime and environment, routes behind the JWT authorizer.
//!
//! Every expectation comes from the same typed stack model synth uses, so
//! verify cannot drift from the template.

use crate::cli::{AwsArgs, StageArgs};
use anyhow::{Context, Result};
use aws_config::SdkConfig;
use serde::Serialize;
use stack::resources::{KeyType, Properties};
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct VerifyArgs {
    #[command(flatten)]
    pub aws: AwsArgs,
    #[command(flatten)]
    pub stage: StageArgs,
    /// Print the checks as JSON.
    #[arg(long)]
    pub json: bool,
}

/// One check and its outcome.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Check {
    pub name: String,
    pub ok: bool,
    pub detail: String,
}

fn check(name: impl Into<String>, ok: bool, detail: impl Into<String>) -> Check {
    Check {
        name: name.into(),
        ok,
        detail: detail.into(),
    }
}

pub fn run(args: VerifyArgs) -> Result<ExitCode> {
    let stage = args.stage.stage.clone();
    if let Some(s) = &stage {
        stack::names::validate_stage(s)?;
    }
    let rt = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    let checks = rt.block_on(async {
        let aws = crate::deploy::aws::connect(&args.aws).await?;
        verify(&aws.conf, stage.as_deref()).await
    })?;
    let failed = checks.iter().filter(|c| !c.ok).count();
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(
                &serde_json::json!({"ok": failed == 0, "checks": checks})
            )?
        );
    } else {
        for c in &checks {
            println!(
                "{} {:<44} {}",
                if c.ok { "ok  " } else { "FAIL" },
                c.name,
                c.detail
            );
        }
        println!("{} checks, {failed} failed", checks.len());
    }
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// Runs every check against the account `conf` points at.
pub async fn verify(conf: &SdkConfig, stage: Option<&str>) -> Result<Vec<Check>> {
    let names = stack::Names::new(stage)?;
    let template = stack::synth(&stack::StackOptions {
        stage: stage.map(str::to_string),
    })?;
    let mut checks = Vec::new();
    checks.extend(verify_tables(conf, &template).await);
    let key_arn = checks
        .iter()
        .find(|c| c.name.ends_with("SSE with the customer key") && c.ok)
        .map(|c| c.detail.clone());
    checks.extend(verify_key(conf, key_arn.as_deref()).await);
    checks.extend(verify_functions(conf, &names).await);
    checks.extend(verify_api(conf, &names, &template).await);
    Ok(checks)
}

/// Tables: exist, key schema and GSI as modelled, SSE with a KMS key, TTL, PITR.
pub async fn verify_tables(conf: &SdkConfig, template: &stack::Template) -> Vec<Check> {
    let ddb = aws_sdk_dynamodb::Client::new(conf);
    let mut out = Vec::new();
    for (_, r) in template.resources_of_type("AWS::DynamoDB::Table") {
        let Properties::Table(model) = &r.properties else {
            continue;
        };
        let name = &model.table_name;
        let desc = match ddb.describe_table().table_name(name).send().await {
            Ok(d) => d,
            Err(e) => {
                out.push(check(
                    format!("table {name} exists"),
                    false,
                    format!(
                        "DescribeTable failed: {}",
                        crate::deploy::aws::error_chain(&e)
                    ),
                ));
                continue;
            }
        };
        let Some(table) = desc.table() else {
            out.push(check(
                format!("table {name} exists"),
                false,
                "no description returned",
            ));
            continue;
        };
        out.push(check(format!("table {name} exists"), true, ""));

        let have: Vec<(String, bool)> = table
            .key_schema()
            .iter()
            .map(|k| {
                (
                    k.attribute_name().to_string(),
                    k.key_type().as_str() == "HASH",
                )
            })
            .collect();
        let want: Vec<(String, bool)> = model
            .key_schema
            .iter()
            .map(|k| (k.attribute_name.clone(), k.key_type == KeyType::Hash))
            .collect();
        out.push(check(
            format!("table {name} key schema"),
            have == want,
            format!("{have:?}"),
        ));
        for gsi in &model.global_secondary_indexes {
            let found = table
                .global_secondary_indexes()
                .iter()
                .any(|g| g.index_name() == Some(gsi.index_name.as_str()));
            out.push(check(
                format!("table {name} index {}", gsi.index_name),
                found,
                "",
            ));
        }
        let sse = table.sse_description();
        let sse_on = sse
            .and_then(|s| s.status())
            .is_some_and(|s| s.as_str() == "ENABLED")
            && sse
                .and_then(|s| s.sse_type())
                .is_some_and(|t| t.as_str() == "KMS");
        let key = sse
            .and_then(|s| s.kms_master_key_arn())
            .unwrap_or_default()
            .to_string();
        out.push(check(
            format!("table {name} SSE with the customer key"),
            sse_on && !key.is_empty(),
            if sse_on {
                key
            } else {
                "SSE with KMS is not enabled".into()
            },
        ));
        let ttl = ddb.describe_time_to_live().table_name(name).send().await;
        let ttl_ok = ttl
            .as_ref()
            .ok()
            .and_then(|t| t.time_to_live_description())
            .is_some_and(|d| {
                d.time_to_live_status()
                    .is_some_and(|s| s.as_str() == "ENABLED")
                    && d.attribute_name()
                        == Some(model.time_to_live_specification.attribute_name.as_str())
            });
        out.push(check(
            format!(
                "table {name} TTL on {}",
                model.time_to_live_specification.attribute_name
            ),
            ttl_ok,
            if ttl_ok {
                ""
            } else {
                "TTL is not enabled on this attribute"
            },
        ));
        let pitr = ddb
            .describe_continuous_backups()
            .table_name(name)
            .send()
            .await;
        let pitr_ok = pitr
            .as_ref()
            .ok()
            .and_then(|p| p.continuous_backups_description())
            .and_then(|c| c.point_in_time_recovery_description())
            .and_then(|p| p.point_in_time_recovery_status())
            .is_some_and(|s| s.as_str() == "ENABLED");
        out.push(check(
            format!("table {name} point-in-time recovery"),
            pitr_ok,
            if pitr_ok { "" } else { "PITR is not enabled" },
        ));
    }
    out
}

/// The customer-managed key: rotation on.
pub async fn verify_key(conf: &SdkConfig, key_arn: Option<&str>) -> Vec<Check> {
    let Some(key) = key_arn else {
        return vec![check(
            "KMS key rotation",
            false,
            "no table names a customer key",
        )];
    };
    let kms = aws_sdk_kms::Client::new(conf);
    let on = kms
        .get_key_rotation_status()
        .key_id(key)
        .send()
        .await
        .map(|r| r.key_rotation_enabled())
        .unwrap_or(false);
    vec![check(
        "KMS key rotation",
        on,
        if on { key } else { "rotation is off" },
    )]
}

/// Functions: the deployment guide's ListFunctions check, runtime, handler,
/// environment, environment encryption.
pub async fn verify_functions(conf: &SdkConfig, names: &stack::Names) -> Vec<Check> {
    let lambda = aws_sdk_lambda::Client::new(conf);
    let mut listed = Vec::new();
    let mut pages = lambda.list_functions().into_paginator().send();
    let mut list_error = None;
    while let Some(page) = pages.next().await {
        match page {
            Ok(p) => listed.extend(
                p.functions()
                    .iter()
                    .filter_map(|f| f.function_name().map(str::to_string))
                    .filter(|n| {
                        n.contains("voice-learning-session") || n.contains("voice-learning-context")
                    }),
            ),
            Err(e) => {
                list_error = Some(crate::deploy::aws::error_chain(&e));
                break;
            }
        }
    }
    let mut out = Vec::new();
    for f in names.functions() {
        let found = listed.iter().any(|n| n == f);
        out.push(check(
            format!("function {f} listed"),
            found,
            list_error.clone().unwrap_or_default(),
        ));
        if !found {
            continue;
        }
        match lambda
            .get_function_configuration()
            .function_name(f)
            .send()
            .await
        {
            Ok(c) => {
                let runtime_ok = c.runtime().is_some_and(|r| r.as_str() == "provided.al2023")
                    && c.handler() == Some("bootstrap");
                out.push(check(
                    format!("function {f} runtime"),
                    runtime_ok,
                    format!("{:?} / {:?}", c.runtime().map(|r| r.as_str()), c.handler()),
                ));
                let vars = c.environment().and_then(|e| e.variables());
                let env_ok = vars.is_some_and(|v| {
                    v.get("SESSIONS_TABLE") == Some(&names.sessions_table)
                        && v.get("USER_PROFILES_TABLE") == Some(&names.user_profiles_table)
                        && v.get("KMS_KEY_ID").is_some_and(|k| !k.is_empty())
                });
                out.push(check(format!("function {f} environment"), env_ok, ""));
                out.push(check(
                    format!("function {f} environment encrypted with the key"),
                    c.kms_key_arn().is_some_and(|k| !k.is_empty()),
                    c.kms_key_arn().unwrap_or_default(),
                ));
            }
            Err(e) => out.push(check(
                format!("function {f} configuration"),
                false,
                crate::deploy::aws::error_chain(&e),
            )),
        }
    }
    out
}

/// The HTTP API: both routes, each behind the JWT authorizer with a Cognito issuer.
pub async fn verify_api(
    conf: &SdkConfig,
    names: &stack::Names,
    template: &stack::Template,
) -> Vec<Check> {
    let api = aws_sdk_apigatewayv2::Client::new(conf);
    let apis = match api.get_apis().send().await {
        Ok(a) => a,
        Err(e) => {
            return vec![check(
                format!("HTTP API {} exists", names.api),
                false,
                crate::deploy::aws::error_chain(&e),
            )]
        }
    };
    let Some(found) = apis
        .items()
        .iter()
        .find(|a| a.name() == Some(names.api.as_str()))
    else {
        return vec![check(
            format!("HTTP API {} exists", names.api),
            false,
            "not found",
        )];
    };
    let api_id = found.api_id().unwrap_or_default().to_string();
    let mut out = vec![check(
        format!("HTTP API {} exists", names.api),
        true,
        api_id.clone(),
    )];
    let authorizers = api.get_authorizers().api_id(&api_id).send().await;
    let jwt_ids: Vec<String> = authorizers
        .as_ref()
        .map(|a| {
            a.items()
                .iter()
                .filter(|z| z.authorizer_type().is_some_and(|t| t.as_str() == "JWT"))
                .filter(|z| {
                    z.jwt_configuration()
                        .and_then(|j| j.issuer())
                        .is_some_and(|i| i.starts_with("https://cognito-idp."))
                })
                .filter_map(|z| z.authorizer_id().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    out.push(check(
        "JWT authorizer with a Cognito issuer",
        !jwt_ids.is_empty(),
        "",
    ));
    let routes = api.get_routes().api_id(&api_id).send().await;
    for (_, r) in template.resources_of_type("AWS::ApiGatewayV2::Route") {
        let Properties::Route(model) = &r.properties else {
            continue;
        };
        let ok = routes.as_ref().is_ok_and(|rs| {
            rs.items().iter().any(|x| {
                x.route_key() == Some(model.route_key.as_str())
                    && x.authorization_type().is_some_and(|t| t.as_str() == "JWT")
                    && x.authorizer_id()
                        .is_some_and(|id| jwt_ids.iter().any(|j| j == id))
            })
        });
        out.push(check(
            format!("route {} behind the JWT authorizer", model.route_key),
            ok,
            "",
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failed(checks: &[Check]) -> Vec<&str> {
        checks
            .iter()
            .filter(|c| !c.ok)
            .map(|c| c.name.as_str())
            .collect()
    }

    /// Tables and key made from the model (as `dev` makes them) pass; turning
    /// PITR off fails exactly that check; functions that are not there fail.
    #[tokio::test(flavor = "multi_thread")]
    async fn verify_checks_what_is_really_there() {
        let moto = emulator::MotoServer::start(Default::default()).expect("moto");
        let endpoint = moto.endpoint_url();
        let (template, model) = crate::dev::model::LocalModel::synth(None).unwrap();
        crate::dev::provision::provision(&template, &model, &endpoint)
            .await
            .unwrap();
        let conf = crate::dev::provision::sdk_config(&endpoint).await;

        let tables = verify_tables(&conf, &template).await;
        assert_eq!(tables.len(), 11, "{tables:?}");
        assert!(failed(&tables).is_empty(), "{tables:?}");
        let key = tables
            .iter()
            .find(|c| c.name.ends_with("SSE with the customer key"))
            .unwrap()
            .detail
            .clone();
        assert!(failed(&verify_key(&conf, Some(&key)).await).is_empty());

        aws_sdk_dynamodb::Client::new(&conf)
            .update_continuous_backups()
            .table_name("voice-learning-sessions")
            .point_in_time_recovery_specification(
                aws_sdk_dynamodb::types::PointInTimeRecoverySpecification::builder()
                    .point_in_time_recovery_enabled(false)
                    .build()
                    .unwrap(),
            )
            .send()
            .await
            .unwrap();
        let after = verify_tables(&conf, &template).await;
        assert_eq!(
            failed(&after),
            vec!["table voice-learning-sessions point-in-time recovery"]
        );

        let names = stack::Names::new(None).unwrap();
        let functions = verify_functions(&conf, &names).await;
        assert_eq!(
            failed(&functions),
            vec![
                "function voice-learning-session-persistence listed",
                "function voice-learning-context-manager listed"
            ]
        );
    }
}
