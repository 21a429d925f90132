//! Least privilege, checked: the recording interceptor (tests/common) sees
//! every AWS operation each function makes in every test of this binary and
//! refuses, like IAM, any its role does not grant. Here every code path that
//! reaches AWS is driven once, and the set of (resource, action) each
//! function used must equal its role's actions in the synthesized template.

use std::collections::BTreeSet;

use functions::Function::{self, ContextManager, SessionPersistence};
use serde_json::{json, Value};

use crate::common::*;

/// (resource, action) pairs of a role's inline policies in the synthesized
/// template. `logs:*` is left out: the Lambda service writes the logs, the
/// code never calls CloudWatch Logs.
fn template_actions(function: Function) -> BTreeSet<Call> {
    let template = stack::synth(&stack::StackOptions::default())
        .expect("synth")
        .to_json_value();
    let role = match function {
        SessionPersistence => stack::module::ids::SESSION_PERSISTENCE_ROLE,
        ContextManager => stack::module::ids::CONTEXT_MANAGER_ROLE,
    };
    let props = &template["Resources"][role]["Properties"];
    assert!(
        props.get("ManagedPolicyArns").is_none(),
        "{role}: inline policies only"
    );
    let mut set = BTreeSet::new();
    for policy in props["Policies"].as_array().expect("inline policies") {
        for st in policy["PolicyDocument"]["Statement"]
            .as_array()
            .expect("statements")
        {
            assert_eq!(st["Effect"], "Allow");
            // DynamoDB's own use of the table key as this role (service-side,
            // `kms:ViaService`): not an SDK call of the code. The stack
            // crate's access-evaluation test checks those statements.
            if !st["Condition"]["StringEquals"]["kms:ViaService"].is_null() {
                continue;
            }
            // Lambda sends the X-Ray segments with the role (active
            // tracing), not the code: the stack crate's invariants check
            // that statement.
            if st["Sid"] == "Tracing" {
                continue;
            }
            let actions: Vec<String> = match &st["Action"] {
                Value::String(a) => vec![a.clone()],
                Value::Array(a) => a.iter().map(|x| x.as_str().unwrap().to_string()).collect(),
                other => panic!("{role}: Action {other}"),
            };
            let resource = st["Resource"].to_string();
            for a in actions {
                assert!(!a.contains('*'), "{role}: wildcard action {a}");
                if a.starts_with("logs:") {
                    continue;
                }
                let res = if a.starts_with("kms:") {
                    assert!(
                        resource.contains(stack::module::ids::KEY),
                        "{role}: {a} on {resource}"
                    );
                    assert!(
                        st.get("Condition").is_some(),
                        "{role}: {a} without an encryption-context condition"
                    );
                    Resource::Key
                } else if resource.contains("/index/") {
                    assert!(resource.contains("UserSessionIndex"), "{resource}");
                    Resource::UserSessionIndex
                } else if resource.contains(stack::module::ids::USER_PROFILES_TABLE) {
                    Resource::ProfilesTable
                } else if resource.contains(stack::module::ids::SESSIONS_TABLE) {
                    Resource::SessionsTable
                } else {
                    Resource::Other(resource.clone())
                };
                set.insert((res, a));
            }
        }
    }
    set
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_function_uses_exactly_what_its_role_grants() {
    let env = Env::new().await;
    let (sp, sp_rec) = env.app(SessionPersistence);
    let (sp_cold, sp_cold_rec) = env.app(SessionPersistence);
    let mut eager = env.settings.clone();
    eager.touch_interval_ms = 0; // so add_turn also refreshes the session item
    let (cm, cm_rec) = env.app_with(ContextManager, eager);

    // Session persistence: every action.
    let sid = create_session(&sp, USER_A).await;
    ok(&sp, USER_A, json!({"action":"get","sessionId":sid})).await;
    ok(
        &sp,
        USER_A,
        json!({"action":"update","sessionId":sid,"version":1,"session":{"mode":"quiz"}}),
    )
    .await;
    ok(&sp, USER_A, json!({"action":"list"})).await;
    // Context manager: every action.
    ok(&cm, USER_A, turn(&sid, "What is a closure?")).await;
    ok(
        &cm,
        USER_A,
        turn(&sid, "A function with its captured scope."),
    )
    .await;
    ok(&cm, USER_A, json!({"action":"get_context","sessionId":sid})).await;
    ok_as(
        &cm,
        &writer(USER_A),
        json!({"action":"set_summary","sessionId":sid,"summary":"closures"}),
    )
    .await;
    ok(&cm, USER_A, json!({"action":"clear","sessionId":sid})).await;
    ok(&cm, USER_A, turn(&sid, "again")).await;
    // A container that did not create the session restores it (kms:Decrypt).
    ok(&sp_cold, USER_A, json!({"action":"restore"})).await;
    ok(&sp, USER_A, json!({"action":"delete","sessionId":sid})).await;

    for (function, used) in [
        (
            SessionPersistence,
            sp_rec
                .set()
                .union(&sp_cold_rec.set())
                .cloned()
                .collect::<BTreeSet<_>>(),
        ),
        (ContextManager, cm_rec.set()),
    ] {
        let declared = granted(function);
        let template = template_actions(function);
        let show = |s: &BTreeSet<Call>| {
            s.iter()
                .map(|(r, a)| format!("{a} on {r:?}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        assert_eq!(
            used,
            declared,
            "{function:?}: used [{}] vs stack::permissions [{}]",
            show(&used),
            show(&declared)
        );
        assert_eq!(
            template,
            declared,
            "{function:?}: role in the template [{}] vs stack::permissions [{}]",
            show(&template),
            show(&declared)
        );
        // And across the whole suite so far: nothing outside the role (the
        // interceptor refuses it) and, with this test's calls, everything in it.
        assert_eq!(
            suite_calls()[&function],
            declared,
            "{function:?}: suite-wide calls"
        );
        eprintln!("LEAST PRIVILEGE {function:?}: {}", show(&used));
    }

    // The same recorded calls, with the encryption context they really
    // carried, evaluated against the synthesized role and key policies.
    for (function, recorders) in [
        (SessionPersistence, vec![&sp_rec, &sp_cold_rec]),
        (ContextManager, vec![&cm_rec]),
    ] {
        let mut evaluated = 0;
        for rec in recorders {
            for (resource, action) in rec.calls() {
                if action.starts_with("kms:") {
                    continue;
                }
                assert_allowed(function, &dynamodb_request(function, &resource, &action));
                evaluated += 1;
            }
            for (action, context) in rec.kms_contexts() {
                let pairs: Vec<(&String, &String)> = context.iter().collect();
                let req = stack::access::Request::by_role(&role_arn(function), &action, &key_arn())
                    .encryption_context(&pairs);
                assert!(!context.is_empty(), "{action} without encryption context");
                assert_allowed(function, &req);
                evaluated += 1;
            }
        }
        assert!(evaluated > 0);
        eprintln!("ACCESS {function:?}: {evaluated} recorded calls allowed");
    }
}

const ACCOUNT: &str = "111122223333";
const REGION: &str = "eu-west-1";

fn policies() -> stack::access::StackPolicies {
    let t = stack::synth(&stack::StackOptions::default()).expect("synth");
    stack::access::StackPolicies::resolve(
        &t,
        &stack::resolve::Place::new(ACCOUNT, REGION),
        &Default::default(),
        "key-id",
    )
    .expect("resolve")
}

fn role_id(function: Function) -> &'static str {
    match function {
        SessionPersistence => stack::module::ids::SESSION_PERSISTENCE_ROLE,
        ContextManager => stack::module::ids::CONTEXT_MANAGER_ROLE,
    }
}

fn role_arn(function: Function) -> String {
    policies().roles[role_id(function)].0.clone()
}

fn key_arn() -> String {
    policies().key_arn
}

/// A recorded DynamoDB call as IAM sees it: the action on the deployed ARN.
fn dynamodb_request(
    function: Function,
    resource: &Resource,
    action: &str,
) -> stack::access::Request {
    let names = stack::Names::new(None).unwrap();
    let table = |t: &str| format!("arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{t}");
    let arn = match resource {
        Resource::SessionsTable => table(&names.sessions_table),
        Resource::UserSessionIndex => format!(
            "{}/index/{}",
            table(&names.sessions_table),
            names.user_session_index
        ),
        Resource::ProfilesTable => table(&names.user_profiles_table),
        other => panic!("{action} on {other:?}"),
    };
    stack::access::Request::by_role(&role_arn(function), action, &arn)
}

fn assert_allowed(function: Function, req: &stack::access::Request) {
    assert_eq!(
        policies().decide(Some(role_id(function)), req),
        Ok(stack::access::Decision::Allow),
        "{function:?}: {} on {} {:?}",
        req.action,
        req.resource,
        req.context
    );
}

#[test]
fn index_projection_matches_the_stack() {
    let ours: BTreeSet<&str> = functions::store::INDEX_PROJECTION.iter().copied().collect();
    let stacks: BTreeSet<&str> = stack::module::USER_SESSION_INDEX_PROJECTION
        .iter()
        .copied()
        .collect();
    assert_eq!(ours, stacks);
}

#[test]
fn the_writer_group_setting_matches_the_stack() {
    assert_eq!(
        functions::config::DEFAULT_ASSISTANT_WRITER_GROUP,
        stack::module::DEFAULT_ASSISTANT_WRITER_GROUP
    );
    let env = |name: &str| match name {
        "SESSIONS_TABLE" | "USER_PROFILES_TABLE" | "KMS_KEY_ID" => Some("x".to_string()),
        n if n == stack::module::ASSISTANT_WRITER_GROUP_ENV => Some("tutors".to_string()),
        _ => None,
    };
    let s = functions::Settings::from_lookup(env).unwrap();
    assert_eq!(s.assistant_writer_group, "tutors");
}
