//! Functions: the deployment guide's ListFunctions check, runtime and
//! handler, the environment (the stack's tables and key), the environment
//! encrypted with the stack's key.

use super::check::{call_failed, Check};
use super::key::StackKey;
use super::resources::StackResources;
use aws_sdk_lambda::types::Runtime;
use stack::module::ids;

/// The stack's function names (physical ids), else the design's names.
pub fn function_names(names: &stack::Names, resources: &StackResources) -> [String; 2] {
    [
        resources
            .physical_id(ids::SESSION_PERSISTENCE_FUNCTION)
            .unwrap_or(&names.session_persistence_function)
            .to_string(),
        resources
            .physical_id(ids::CONTEXT_MANAGER_FUNCTION)
            .unwrap_or(&names.context_manager_function)
            .to_string(),
    ]
}

pub async fn verify_functions(
    lambda: &aws_sdk_lambda::Client,
    names: &stack::Names,
    resources: &StackResources,
    key: Option<&StackKey>,
) -> Vec<Check> {
    let mut listed = Vec::new();
    let mut list_failure = None;
    let mut pages = lambda.list_functions().into_paginator().send();
    while let Some(page) = pages.next().await {
        match page {
            Ok(p) => listed.extend(
                p.functions()
                    .iter()
                    .filter_map(|f| f.function_name().map(str::to_string)),
            ),
            Err(e) => {
                list_failure = Some(e);
                break;
            }
        }
    }
    let sessions_table = resources
        .physical_id(ids::SESSIONS_TABLE)
        .unwrap_or(&names.sessions_table);
    let profiles_table = resources
        .physical_id(ids::USER_PROFILES_TABLE)
        .unwrap_or(&names.user_profiles_table);
    let mut out = Vec::new();
    for f in function_names(names, resources) {
        let name = format!("function {f} listed");
        match &list_failure {
            Some(e) => out.push(call_failed(name, "lambda:ListFunctions", e)),
            None => {
                let found = listed.contains(&f);
                out.push(Check::ok_if(
                    name,
                    found,
                    if found { "" } else { "not in ListFunctions" },
                ));
                if !found {
                    continue;
                }
            }
        }
        match lambda
            .get_function_configuration()
            .function_name(&f)
            .send()
            .await
        {
            Ok(c) => {
                let runtime_ok = c.runtime() == Some(&Runtime::Providedal2023)
                    && c.handler() == Some("bootstrap");
                out.push(Check::ok_if(
                    format!("function {f} runtime"),
                    runtime_ok,
                    format!(
                        "{} / {}",
                        c.runtime().map_or("?", |r| r.as_str()),
                        c.handler().unwrap_or("?")
                    ),
                ));
                let vars = c.environment().and_then(|e| e.variables());
                let var = |k: &str| vars.and_then(|v| v.get(k)).map(String::as_str);
                let key_ok = |v: Option<&str>| match (v, key) {
                    (Some(v), Some(k)) => v == k.id || k.matches(v),
                    _ => false,
                };
                let env_ok = var("SESSIONS_TABLE") == Some(sessions_table)
                    && var("USER_PROFILES_TABLE") == Some(profiles_table)
                    && key_ok(var("KMS_KEY_ID"));
                out.push(Check::ok_if(
                    format!("function {f} environment"),
                    env_ok,
                    format!(
                        "SESSIONS_TABLE={} USER_PROFILES_TABLE={} KMS_KEY_ID={}",
                        var("SESSIONS_TABLE").unwrap_or("(unset)"),
                        var("USER_PROFILES_TABLE").unwrap_or("(unset)"),
                        var("KMS_KEY_ID").unwrap_or("(unset)")
                    ),
                ));
                out.push(Check::ok_if(
                    format!("function {f} environment encrypted with the key"),
                    key_ok(c.kms_key_arn()),
                    c.kms_key_arn()
                        .unwrap_or("not encrypted with a customer key"),
                ));
            }
            Err(e) => out.push(call_failed(
                format!("function {f} configuration"),
                "lambda:GetFunctionConfiguration",
                &e,
            )),
        }
    }
    out
}

/// Which version each function's `live` alias (what the API invokes) runs,
/// and whether it is the one the stack published.
pub async fn verify_live(
    lambda: &aws_sdk_lambda::Client,
    names: &stack::Names,
    resources: &StackResources,
) -> Vec<Check> {
    let mut out = vec![];
    for (f, function) in stack::Function::ALL
        .iter()
        .zip(function_names(names, resources))
    {
        let name = format!("function {function} live version");
        let stack_version = resources
            .physical_id(f.version_id())
            .and_then(|arn| arn.rsplit(':').next())
            .map(str::to_string);
        out.push(match crate::versions::live(lambda, &function).await {
            Ok(Some(live)) => {
                let code = live
                    .code_key
                    .as_deref()
                    .map(|k| format!(" ({k})"))
                    .unwrap_or_default();
                let moved = match &stack_version {
                    Some(v) if *v != live.version => format!(
                        "; the stack published version {v}: a rollback or hotswap moved the alias, and the next deploy that changes the function publishes anew"
                    ),
                    _ => String::new(),
                };
                Check::ok(name, format!("version {}{code}{moved}", live.version))
            }
            Ok(None) => Check::fail(
                name,
                format!(
                    "no `{}` alias, so the API cannot invoke it: redeploy (`cargo xtask deploy`) to add it",
                    stack::function::LIVE_ALIAS
                ),
            ),
            Err(e) => Check::fail(name, e.to_string()),
        });
    }
    out
}
