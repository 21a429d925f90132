//! Who may invoke the functions: the functions trust the claims API
//! Gateway puts in the request context, so anyone allowed
//! `lambda:InvokeFunction` could claim any user. The functions' resource
//! policies (Lambda's GetPolicy) must allow only API Gateway, for this
//! stack's API (`AWS:SourceArn`,
//! <https://docs.aws.amazon.com/lambda/latest/dg/access-control-resource-based.html>).
//! Identity policies in the account can grant the action too (the
//! deployer policy does, for the smoke test); no single call lists those.

use super::check::{call_failed, Check};
use serde_json::Value;

/// The check of one function's resource policy (`policy`: GetPolicy's
/// document) against the stack's API id.
pub fn check(function: &str, policy: &Value, api_id: &str) -> Check {
    let name = format!("function {function} invokers");
    let statements = match &policy["Statement"] {
        Value::Array(a) => a.clone(),
        Value::Null => vec![],
        one => vec![one.clone()],
    };
    let mut apis = vec![];
    let mut others = vec![];
    for st in statements.iter().filter(|s| s["Effect"] == "Allow") {
        let service = st["Principal"]["Service"].as_str();
        let source = ["ArnLike", "ArnEquals", "StringEquals", "StringLike"]
            .iter()
            .find_map(|op| st["Condition"][op]["AWS:SourceArn"].as_str());
        match (service, source.and_then(api_of)) {
            (Some("apigateway.amazonaws.com"), Some(api)) if api == api_id => {
                apis.push(source.unwrap_or_default().to_string())
            }
            _ => others.push(describe(st)),
        }
    }
    if !others.is_empty() {
        return Check::fail(
            name,
            format!(
                "its resource policy also lets {} invoke it, and the functions trust the \
                 caller's claims: remove those statements (aws lambda remove-permission \
                 --function-name {function} --statement-id SID, with --qualifier live for \
                 the alias's) or redeploy",
                others.join("; ")
            ),
        );
    }
    if apis.is_empty() {
        return Check::fail(
            name,
            "its resource policy lets nobody invoke it, not even the API: redeploy \
             (`cargo xtask deploy`) to restore the stack's invoke permission",
        );
    }
    Check::ok(
        name,
        format!(
            "only API Gateway for API {api_id} ({}); identity policies in the account may \
             grant lambda:InvokeFunction too (the deployer policy does, for the smoke test)",
            apis.join(", ")
        ),
    )
}

/// The API id of an `execute-api` source ARN
/// (`arn:<partition>:execute-api:<region>:<account>:<api id>/<stage>/<route>`).
fn api_of(source_arn: &str) -> Option<&str> {
    let rest = source_arn.splitn(6, ':').nth(5)?;
    source_arn
        .split(':')
        .nth(2)
        .filter(|s| *s == "execute-api")?;
    rest.split('/')
        .next()
        .filter(|id| !id.is_empty() && !id.contains('*'))
}

fn describe(st: &Value) -> String {
    let who = match &st["Principal"] {
        Value::String(s) => s.clone(),
        Value::Object(m) => m
            .values()
            .map(|v| v.to_string().trim_matches('"').to_string())
            .collect::<Vec<_>>()
            .join(","),
        _ => "?".into(),
    };
    let sid = st["Sid"].as_str().unwrap_or("(no Sid)");
    let condition = if st["Condition"].is_null() {
        "with no condition".to_string()
    } else {
        format!("if {}", st["Condition"])
    };
    format!("{who} (statement {sid}, {condition})")
}

/// The statements of the function's own policy, which let their
/// principals invoke every version and alias, and of its `live` alias's
/// (the API's permission is on the alias it invokes). No policy is none.
async fn statements(
    lambda: &aws_sdk_lambda::Client,
    function: &str,
) -> Result<
    Vec<Value>,
    aws_sdk_lambda::error::SdkError<aws_sdk_lambda::operation::get_policy::GetPolicyError>,
> {
    let mut out = vec![];
    for qualifier in [None, Some(stack::function::LIVE_ALIAS)] {
        match lambda
            .get_policy()
            .function_name(function)
            .set_qualifier(qualifier.map(str::to_string))
            .send()
            .await
        {
            Ok(p) => {
                let doc = p
                    .policy()
                    .and_then(|t| serde_json::from_str::<Value>(t).ok())
                    .unwrap_or(Value::Null);
                match &doc["Statement"] {
                    Value::Array(a) => out.extend(a.iter().cloned()),
                    Value::Null => {}
                    one => out.push(one.clone()),
                }
            }
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_resource_not_found_exception()) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(out)
}

/// Reads each function's resource policies and checks them.
pub async fn verify(
    lambda: &aws_sdk_lambda::Client,
    functions: &[String],
    api_id: Option<&str>,
) -> Vec<Check> {
    let mut out = vec![];
    for f in functions {
        let name = format!("function {f} invokers");
        let Some(api_id) = api_id else {
            out.push(Check::fail(
                name,
                "the stack has no HTTP API to compare the invoke permission with",
            ));
            continue;
        };
        match statements(lambda, f).await {
            Ok(st) => out.push(check(f, &serde_json::json!({"Statement": st}), api_id)),
            Err(e) => out.push(call_failed(name, "lambda:GetPolicy", &e)),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// GetPolicy's document as Lambda returns it for the stack's permission.
    fn stack_policy(api: &str) -> Value {
        json!({"Version":"2012-10-17","Id":"default","Statement":[{
            "Sid":"VoiceLearningAssistantStack-SessionPersistenceInvokePermission-1AB2C3",
            "Effect":"Allow",
            "Principal":{"Service":"apigateway.amazonaws.com"},
            "Action":"lambda:InvokeFunction",
            "Resource":"arn:aws:lambda:us-east-1:111122223333:function:voice-learning-session-persistence",
            "Condition":{"ArnLike":{"AWS:SourceArn":format!("arn:aws:execute-api:us-east-1:111122223333:{api}/*/POST/sessions")}}
        }]})
    }

    #[test]
    fn only_the_stacks_api_passes() {
        let c = check("f", &stack_policy("a1b2c3"), "a1b2c3");
        assert!(c.is_ok(), "{c:?}");
        assert!(c.detail.contains("a1b2c3/*/POST/sessions"), "{c:?}");
    }

    #[test]
    fn another_api_an_account_or_no_condition_fails_naming_it() {
        assert!(!check("f", &stack_policy("zzz999"), "a1b2c3").is_ok());
        let mut p = stack_policy("a1b2c3");
        p["Statement"].as_array_mut().unwrap().push(json!({
            "Sid":"debug","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::444455556666:root"},
            "Action":"lambda:InvokeFunction","Resource":"*"
        }));
        let c = check("f", &p, "a1b2c3");
        assert!(!c.is_ok());
        assert!(
            c.detail
                .contains("arn:aws:iam::444455556666:root (statement debug, with no condition)"),
            "{c:?}"
        );
        let mut any_api = stack_policy("a1b2c3");
        any_api["Statement"][0]["Condition"] = Value::Null;
        assert!(!check("f", &any_api, "a1b2c3").is_ok());
        let wildcard = stack_policy("*");
        assert!(!check("f", &wildcard, "a1b2c3").is_ok());
    }

    #[test]
    fn no_policy_fails_with_the_fix() {
        let c = check("f", &Value::Null, "a1b2c3");
        assert!(!c.is_ok());
        assert!(c.detail.contains("cargo xtask deploy"), "{c:?}");
    }
}
