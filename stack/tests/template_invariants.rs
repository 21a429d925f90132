//! Invariants over the synthesized template, read back as JSON the way
//! CloudFormation sees it (not through the typed model that produced it).

use serde_json::Value;
use std::collections::BTreeSet;

fn template() -> Value {
    stack::synth(&stack::StackOptions::default())
        .expect("synth")
        .to_json_value()
}

fn resources_of<'a>(
    t: &'a Value,
    ty: &'a str,
) -> impl Iterator<Item = (&'a String, &'a Value)> + 'a {
    t["Resources"]
        .as_object()
        .expect("Resources")
        .iter()
        .filter(move |(_, r)| r["Type"] == ty)
}

fn strings(v: &Value) -> Vec<String> {
    match v {
        Value::String(s) => vec![s.clone()],
        Value::Array(a) => a.iter().flat_map(strings).collect(),
        Value::Object(m) if m.contains_key("Fn::Sub") => strings(&m["Fn::Sub"]),
        other => vec![other.to_string()],
    }
}

#[test]
fn public_names_match_the_design() {
    let t = template();
    let names = |ty: &str, prop: &str| -> BTreeSet<String> {
        resources_of(&t, ty)
            .map(|(_, r)| {
                r["Properties"][prop]
                    .as_str()
                    .expect("literal name")
                    .to_string()
            })
            .collect()
    };
    assert_eq!(
        names("AWS::Lambda::Function", "FunctionName"),
        BTreeSet::from([
            "voice-learning-session-persistence".into(),
            "voice-learning-context-manager".into()
        ])
    );
    assert_eq!(
        names("AWS::DynamoDB::Table", "TableName"),
        BTreeSet::from([
            "voice-learning-sessions".into(),
            "voice-learning-user-profiles".into()
        ])
    );
    assert_eq!(
        names("AWS::CloudWatch::Dashboard", "DashboardName"),
        BTreeSet::from(["VoiceLearningSessionManagement".into()])
    );
    let groups = names("AWS::Logs::LogGroup", "LogGroupName");
    for f in [
        "voice-learning-session-persistence",
        "voice-learning-context-manager",
    ] {
        assert!(
            groups.contains(&format!("/aws/lambda/{f}")),
            "no log group for {f}"
        );
    }
    let sessions = resources_of(&t, "AWS::DynamoDB::Table")
        .find(|(_, r)| r["Properties"]["TableName"] == "voice-learning-sessions")
        .unwrap()
        .1;
    let gsis = sessions["Properties"]["GlobalSecondaryIndexes"]
        .as_array()
        .unwrap();
    assert_eq!(gsis.len(), 1);
    assert_eq!(gsis[0]["IndexName"], "UserSessionIndex");
    assert_eq!(
        sessions["Properties"]["KeySchema"],
        serde_json::json!([
            {"AttributeName": "sessionId", "KeyType": "HASH"},
            {"AttributeName": "sk", "KeyType": "RANGE"}
        ])
    );
    assert!(
        t["Outputs"]["HttpApiUrl"].is_object(),
        "output HttpApiUrl missing"
    );
    for f in resources_of(&t, "AWS::Lambda::Function") {
        let env = f.1["Properties"]["Environment"]["Variables"]
            .as_object()
            .unwrap();
        let keys: BTreeSet<&str> = env.keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            BTreeSet::from(["KMS_KEY_ID", "SESSIONS_TABLE", "USER_PROFILES_TABLE"])
        );
        assert_eq!(f.1["Properties"]["Runtime"], "provided.al2023");
        assert_eq!(f.1["Properties"]["Handler"], "bootstrap");
    }
}

#[test]
fn tables_and_key_are_retained() {
    let t = template();
    let mut seen = 0;
    for ty in ["AWS::DynamoDB::Table", "AWS::KMS::Key"] {
        for (id, r) in resources_of(&t, ty) {
            assert_eq!(r["DeletionPolicy"], "Retain", "{id} DeletionPolicy");
            assert_eq!(
                r["UpdateReplacePolicy"], "Retain",
                "{id} UpdateReplacePolicy"
            );
            seen += 1;
        }
    }
    assert_eq!(seen, 3, "two tables and one key");
}

#[test]
fn tables_have_pitr_ttl_and_sse_with_the_customer_key() {
    let t = template();
    let key_id = resources_of(&t, "AWS::KMS::Key").next().unwrap().0.clone();
    let key = t["Resources"][&key_id]["Properties"].clone();
    assert_eq!(key["EnableKeyRotation"], true);
    for (id, r) in resources_of(&t, "AWS::DynamoDB::Table") {
        let p = &r["Properties"];
        assert_eq!(
            p["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"], true,
            "{id} PITR"
        );
        assert_eq!(
            p["TimeToLiveSpecification"]["AttributeName"], "expiresAt",
            "{id} TTL"
        );
        assert_eq!(p["TimeToLiveSpecification"]["Enabled"], true, "{id} TTL");
        assert_eq!(p["SSESpecification"]["SSEEnabled"], true, "{id} SSE");
        assert_eq!(p["SSESpecification"]["SSEType"], "KMS", "{id} SSE type");
        assert_eq!(
            p["SSESpecification"]["KMSMasterKeyId"],
            serde_json::json!({"Ref": key_id}),
            "{id} CMK"
        );
        assert_eq!(p["BillingMode"], "PAY_PER_REQUEST", "{id} on-demand");
    }
}

#[test]
fn every_route_has_the_jwt_authorizer() {
    let t = template();
    let authorizers: Vec<_> = resources_of(&t, "AWS::ApiGatewayV2::Authorizer").collect();
    assert_eq!(authorizers.len(), 1);
    let (auth_id, auth) = authorizers[0];
    assert_eq!(auth["Properties"]["AuthorizerType"], "JWT");
    // The issuer is the pool's region (its id's prefix), not the stack's:
    // a pool in eu-west-1 serves an API in us-east-2.
    let typed = stack::synth(&Default::default()).unwrap();
    let params = std::collections::BTreeMap::from([(
        "UserPoolId".to_string(),
        "eu-west-1_AbC123xyz".to_string(),
    )]);
    let r = stack::resolve::Resolver::new(
        &typed,
        &stack::resolve::Place::new("111122223333", "us-east-2"),
        &params,
        "k",
        "arn:aws:kms:us-east-2:111122223333:key/k",
    );
    assert_eq!(
        r.resolve(&auth["Properties"]["JwtConfiguration"]["Issuer"])
            .unwrap(),
        "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbC123xyz"
    );
    assert_eq!(
        auth["Properties"]["JwtConfiguration"]["Audience"],
        serde_json::json!([{"Ref": "UserPoolClientId"}])
    );
    let routes: Vec<_> = resources_of(&t, "AWS::ApiGatewayV2::Route").collect();
    let keys: BTreeSet<&str> = routes
        .iter()
        .map(|(_, r)| r["Properties"]["RouteKey"].as_str().unwrap())
        .collect();
    assert_eq!(keys, BTreeSet::from(["POST /context", "POST /sessions"]));
    for (id, r) in routes {
        assert_eq!(r["Properties"]["AuthorizationType"], "JWT", "{id}");
        assert_eq!(
            r["Properties"]["AuthorizerId"],
            serde_json::json!({"Ref": auth_id}),
            "{id}"
        );
    }
    for (id, i) in resources_of(&t, "AWS::ApiGatewayV2::Integration") {
        assert_eq!(i["Properties"]["PayloadFormatVersion"], "2.0", "{id}");
    }
}

#[test]
fn every_function_has_an_encrypted_log_group_with_retention() {
    let t = template();
    for (id, f) in resources_of(&t, "AWS::Lambda::Function") {
        let name = f["Properties"]["FunctionName"].as_str().unwrap();
        let (lg_id, lg) = resources_of(&t, "AWS::Logs::LogGroup")
            .find(|(_, g)| g["Properties"]["LogGroupName"] == format!("/aws/lambda/{name}"))
            .unwrap_or_else(|| panic!("{id}: no log group /aws/lambda/{name}"));
        assert_eq!(lg["Properties"]["RetentionInDays"], 30, "{lg_id}");
        assert!(
            lg["Properties"]["KmsKeyId"].is_object(),
            "{lg_id} not encrypted with the key"
        );
        assert_eq!(
            f["Properties"]["LoggingConfig"]["LogGroup"],
            serde_json::json!({"Ref": lg_id})
        );
    }
}

/// Every IAM statement of every role: (role id, statement).
fn role_statements(t: &Value) -> Vec<(String, Value)> {
    let mut out = vec![];
    for (id, r) in resources_of(t, "AWS::IAM::Role") {
        for p in r["Properties"]["Policies"].as_array().into_iter().flatten() {
            for s in p["PolicyDocument"]["Statement"].as_array().unwrap() {
                out.push((id.clone(), s.clone()));
            }
        }
    }
    out
}

#[test]
fn no_iam_statement_has_a_wildcard_action_or_resource() {
    let t = template();
    let statements = role_statements(&t);
    assert!(statements.len() >= 8, "expected the roles' statements");
    for (role, s) in statements {
        for a in strings(&s["Action"]) {
            assert!(!a.contains('*'), "{role}: wildcard action {a}");
        }
        assert!(
            s.get("NotAction").is_none() && s.get("NotResource").is_none(),
            "{role}: Not* element"
        );
        for r in strings(&s["Resource"]) {
            assert_ne!(r, "*", "{role}: Resource *");
            // The only wildcard allowed: log streams of the function's own log
            // group, whose names Lambda chooses at run time.
            if r.contains('*') {
                assert!(
                    r.contains(":log-group:/aws/lambda/voice-learning-")
                        && r.ends_with(":log-stream:*"),
                    "{role}: wildcard resource {r}"
                );
            }
        }
    }
}

#[test]
fn no_managed_policies_anywhere() {
    let t = template();
    let text = t.to_string();
    assert!(!text.contains("ManagedPolicyArns"));
    assert!(!text.contains("arn:aws:iam::aws:policy"));
    assert!(!text.contains(":iam::aws:policy/"));
    assert_eq!(resources_of(&t, "AWS::IAM::ManagedPolicy").count(), 0);
    assert_eq!(
        resources_of(&t, "AWS::IAM::Role").count(),
        2,
        "one role per function"
    );
}

#[test]
fn key_policy_never_grants_kms_star_or_data_access_to_the_whole_account() {
    let t = template();
    let key = resources_of(&t, "AWS::KMS::Key").next().unwrap().1;
    for s in key["Properties"]["KeyPolicy"]["Statement"]
        .as_array()
        .unwrap()
    {
        let actions = strings(&s["Action"]);
        assert!(
            !actions.iter().any(|a| a == "kms:*"),
            "kms:* in {}",
            s["Sid"]
        );
        let principal = s["Principal"].to_string();
        if principal.contains(":root") && actions.iter().any(|a| a == "kms:Decrypt") {
            assert!(
                s["Condition"].is_object(),
                "{}: account-wide Decrypt without a condition",
                s["Sid"]
            );
        }
        assert_ne!(s["Principal"], "*", "{}", s["Sid"]);
    }
}

#[test]
fn lambda_permissions_are_scoped_to_this_api() {
    let t = template();
    let perms: Vec<_> = resources_of(&t, "AWS::Lambda::Permission").collect();
    assert_eq!(perms.len(), 2);
    let api_id = resources_of(&t, "AWS::ApiGatewayV2::Api")
        .next()
        .unwrap()
        .0
        .clone();
    for (id, p) in perms {
        assert_eq!(
            p["Properties"]["Principal"], "apigateway.amazonaws.com",
            "{id}"
        );
        let arn = p["Properties"]["SourceArn"]["Fn::Sub"]
            .as_str()
            .unwrap_or_else(|| panic!("{id}: no SourceArn"));
        assert!(
            arn.starts_with("arn:${AWS::Partition}:execute-api:"),
            "{id}: {arn}"
        );
        assert!(
            arn.contains(&format!("${{{api_id}}}/")),
            "{id}: SourceArn not this API: {arn}"
        );
    }
}

#[test]
fn every_ref_and_get_att_resolves() {
    let t = template();
    let mut known: BTreeSet<String> = t["Resources"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    known.extend(t["Parameters"].as_object().unwrap().keys().cloned());
    let pseudo = [
        "AWS::Region",
        "AWS::AccountId",
        "AWS::Partition",
        "AWS::URLSuffix",
        "AWS::NoValue",
        "AWS::StackName",
    ];
    fn walk(v: &Value, f: &mut dyn FnMut(&str, &Value)) {
        match v {
            Value::Object(m) => m.iter().for_each(|(k, x)| {
                f(k, x);
                walk(x, f)
            }),
            Value::Array(a) => a.iter().for_each(|x| walk(x, f)),
            _ => {}
        }
    }
    let mut count = 0;
    walk(&t["Resources"], &mut |k, v| match k {
        "Ref" => {
            let n = v.as_str().unwrap();
            assert!(
                known.contains(n) || pseudo.contains(&n),
                "Ref {n} unresolved"
            );
            count += 1;
        }
        "Fn::GetAtt" => {
            let n = v[0].as_str().unwrap();
            assert!(known.contains(n), "GetAtt {n} unresolved");
            count += 1;
        }
        "Fn::Sub" => {
            for var in stack::expr::sub_variables(v.as_str().unwrap()) {
                let head = var.split('.').next().unwrap();
                assert!(
                    known.contains(head) || pseudo.contains(&var.as_str()),
                    "Sub ${{{var}}} unresolved"
                );
                count += 1;
            }
        }
        _ => {}
    });
    assert!(count > 50, "expected many references, found {count}");
}

#[test]
fn alarms_cover_errors_throttles_5xx_and_p99_duration() {
    let t = template();
    let alarms: Vec<_> = resources_of(&t, "AWS::CloudWatch::Alarm")
        .map(|(_, a)| a["Properties"].clone())
        .collect();
    let metric = |m: &str| alarms.iter().filter(|a| a["MetricName"] == m).count();
    assert_eq!(metric("Errors"), 2);
    assert_eq!(metric("Throttles"), 2);
    assert_eq!(metric("Duration"), 2);
    assert_eq!(metric("5xx"), 1);
    for a in alarms.iter().filter(|a| a["MetricName"] == "Duration") {
        assert_eq!(a["ExtendedStatistic"], "p99");
        assert!(
            a["Threshold"].as_f64().unwrap() < 10_000.0,
            "p99 alarm must fire before the timeout"
        );
    }
    assert!(t["Parameters"]["AlarmEmail"].is_object());
}

#[test]
fn a_stage_suffixes_every_physical_name() {
    let t = stack::synth(&stack::StackOptions {
        stage: Some("qa".into()),
    })
    .unwrap()
    .to_json_value();
    for (id, r) in t["Resources"].as_object().unwrap() {
        for prop in [
            "FunctionName",
            "TableName",
            "DashboardName",
            "LogGroupName",
            "RoleName",
            "AliasName",
        ] {
            if let Some(name) = r["Properties"][prop].as_str() {
                assert!(
                    name.ends_with("-qa"),
                    "{id}.{prop} = {name} has no stage suffix"
                );
            }
        }
    }
}

#[test]
fn roles_grant_exactly_the_actions_the_functions_perform() {
    use stack::permissions as p;
    let t = template();
    let role_actions = |role: &str| -> BTreeSet<String> {
        // Service-side statements (DynamoDB using the table key as the
        // role) are checked by tests/access_evaluation.rs.
        role_statements(&t)
            .into_iter()
            .filter(|(id, _)| id == role)
            .filter(|(_, s)| s["Condition"]["StringEquals"]["kms:ViaService"].is_null())
            .flat_map(|(_, s)| strings(&s["Action"]))
            .filter(|a| !a.starts_with("logs:"))
            .collect()
    };
    let expect = |lists: &[&[&str]]| -> BTreeSet<String> {
        lists
            .iter()
            .flat_map(|l| l.iter().map(|a| a.to_string()))
            .collect()
    };
    assert_eq!(
        role_actions("SessionPersistenceRole"),
        expect(&[
            p::SESSION_PERSISTENCE_SESSIONS_TABLE,
            p::SESSION_PERSISTENCE_INDEX,
            p::SESSION_PERSISTENCE_PROFILES_TABLE,
            p::SESSION_PERSISTENCE_KMS
        ])
    );
    assert_eq!(
        role_actions("ContextManagerRole"),
        expect(&[
            p::CONTEXT_MANAGER_SESSIONS_TABLE,
            p::CONTEXT_MANAGER_INDEX,
            p::CONTEXT_MANAGER_PROFILES_TABLE,
            p::CONTEXT_MANAGER_KMS
        ])
    );
    // Index queries are granted on the named index ARN, not the table's.
    let index = role_statements(&t)
        .into_iter()
        .find(|(_, s)| s["Sid"] == "UserSessionIndex")
        .expect("index statement")
        .1;
    assert_eq!(
        index["Resource"][0]["Fn::Sub"],
        "${SessionsTable.Arn}/index/UserSessionIndex"
    );
}

#[test]
fn dashboard_widgets_use_metrics_published_with_their_dimensions() {
    // DynamoDB publishes ThrottledRequests and SystemErrors per TableName
    // *and* Operation: a TableName-only metric of those is always empty
    // (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/metrics-dimensions.html).
    let t = template();
    let (_, dash) = resources_of(&t, "AWS::CloudWatch::Dashboard")
        .next()
        .expect("a dashboard");
    let body: serde_json::Value = serde_json::from_str(
        dash["Properties"]["DashboardBody"]["Fn::Sub"]
            .as_str()
            .expect("a Fn::Sub body"),
    )
    .expect("the body is JSON");
    let mut per_table = BTreeSet::new();
    for w in body["widgets"].as_array().unwrap() {
        for m in w["properties"]["metrics"].as_array().unwrap() {
            let m = m.as_array().unwrap();
            if m[0] == "AWS/DynamoDB" {
                assert_eq!(m[2], "TableName", "{m:?}");
                let name = m[1].as_str().unwrap().to_string();
                assert!(
                    !["ThrottledRequests", "SystemErrors"].contains(&name.as_str()),
                    "{name} has no TableName-only series"
                );
                per_table.insert(name);
            } else if let Some(e) = m[0].get("expression") {
                assert!(e.as_str().unwrap().contains("Operation,TableName"), "{e}");
            }
        }
    }
    for expected in ["ReadThrottleEvents", "WriteThrottleEvents"] {
        assert!(per_table.contains(expected), "{per_table:?}");
    }
}
