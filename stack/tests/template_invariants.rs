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
        let mut expected = BTreeSet::from([
            "KMS_KEY_ID",
            "SESSIONS_TABLE",
            "USER_PROFILES_TABLE",
            "TLS_TRUST_STORE",
            "RUST_LOG",
        ]);
        assert_eq!(env["RUST_LOG"], serde_json::json!({"Ref": "LogLevel"}));
        // Only the context manager decides who may write assistant turns.
        if f.0 == stack::module::ids::CONTEXT_MANAGER_FUNCTION {
            expected.insert("ASSISTANT_WRITER_GROUP");
            assert_eq!(
                env["ASSISTANT_WRITER_GROUP"],
                serde_json::json!({"Ref": "AssistantWriterGroup"})
            );
            // And names writers acting for students in its audit lines.
            expected.insert("AUDIT_ID_KEY");
            assert_eq!(
                env["AUDIT_ID_KEY"],
                serde_json::json!({"Ref": "AWS::StackId"})
            );
        }
        assert_eq!(keys, expected, "{}", f.0);
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
    let params = std::collections::BTreeMap::from([
        ("UserPoolId".to_string(), "eu-west-1_AbC123xyz".to_string()),
        ("UserPoolClientId".to_string(), "webclient1".to_string()),
    ]);
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
    // Every app client listed is an audience (a web app, a mobile app, the
    // assistant backend); one id is a list of one, as before.
    assert_eq!(
        r.resolve(&auth["Properties"]["JwtConfiguration"]["Audience"])
            .unwrap(),
        serde_json::json!(["webclient1"])
    );
    let mut several = params.clone();
    several.insert("UserPoolClientId".into(), "webclient1,mobileclient2".into());
    let r2 = stack::resolve::Resolver::new(
        &typed,
        &stack::resolve::Place::new("111122223333", "us-east-2"),
        &several,
        "k",
        "arn:aws:kms:us-east-2:111122223333:key/k",
    );
    assert_eq!(
        r2.resolve(&auth["Properties"]["JwtConfiguration"]["Audience"])
            .unwrap(),
        serde_json::json!(["webclient1", "mobileclient2"])
    );
    assert_eq!(
        r2.resolve(&t["Outputs"]["UserPoolClientId"]["Value"])
            .unwrap(),
        "webclient1",
        "the frontend's output is the web app's client"
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

/// A key-policy statement, or the statement inside
/// `Fn::If [condition, statement, AWS::NoValue]` (an opt-in feature's).
fn only_if_unwrapped(s: &Value) -> &Value {
    match s.get("Fn::If") {
        Some(branches) => {
            assert_eq!(branches[2], serde_json::json!({"Ref": "AWS::NoValue"}));
            &branches[1]
        }
        None => s,
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
        // The one exception: X-Ray's write actions, which take no resource
        // (the service authorization reference; the IAM linter checks it).
        if s["Sid"] == "Tracing" {
            assert_eq!(
                strings(&s["Action"]),
                ["xray:PutTelemetryRecords", "xray:PutTraceSegments"]
            );
            continue;
        }
        for r in strings(&s["Resource"]) {
            assert_ne!(r, "*", "{role}: Resource *");
            // The only wildcards allowed: log streams of the function's own
            // log group, whose names Lambda chooses at run time; for the
            // backup role, a table's own backups (ids chosen by DynamoDB)
            // and its restored copies (named at restore time).
            if r.contains('*') {
                let log_streams = r.contains(":log-group:/aws/lambda/voice-learning-")
                    && r.ends_with(":log-stream:*");
                let table_backups = role == "BackupRole"
                    && [
                        "${SessionsTable.Arn}/backup/*",
                        "${UserProfilesTable.Arn}/backup/*",
                        "${SessionsTable.Arn}-restored*",
                        "${UserProfilesTable.Arn}-restored*",
                    ]
                    .contains(&r.as_str());
                assert!(
                    log_streams || table_backups,
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
    let roles: BTreeSet<&str> = resources_of(&t, "AWS::IAM::Role")
        .map(|(id, _)| id.as_str())
        .collect();
    // One role per function, and AWS Backup's, only with backups on.
    assert_eq!(
        roles,
        BTreeSet::from(["BackupRole", "ContextManagerRole", "SessionPersistenceRole"])
    );
    assert_eq!(t["Resources"]["BackupRole"]["Condition"], "BackupEnabled");
}

#[test]
fn key_policy_never_grants_kms_star_or_data_access_to_the_whole_account() {
    let t = template();
    let key = resources_of(&t, "AWS::KMS::Key").next().unwrap().1;
    for s in key["Properties"]["KeyPolicy"]["Statement"]
        .as_array()
        .unwrap()
        .iter()
        .map(only_if_unwrapped)
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
        "AWS::StackId",
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
    let writers = &t["Parameters"]["AssistantWriterGroup"];
    assert_eq!(writers["Default"], "assistant-writers");
    assert_eq!(writers["Type"], "String");
}

#[test]
fn a_stage_suffixes_every_physical_name() {
    let t = stack::synth(&stack::StackOptions {
        stage: Some("qa".into()),
        ..Default::default()
    })
    .unwrap()
    .to_json_value();
    for (id, r) in t["Resources"].as_object().unwrap() {
        for prop in [
            "/FunctionName",
            "/TableName",
            "/DashboardName",
            "/LogGroupName",
            "/RoleName",
            "/AliasName",
            "/BackupVaultName",
            "/BackupPlan/BackupPlanName",
            "/Budget/BudgetName",
        ] {
            if let Some(name) = r["Properties"].pointer(prop).and_then(Value::as_str) {
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
            .filter(|a| !a.starts_with("logs:") && !a.starts_with("xray:"))
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

// ------------------------------------------------ backup plan and budget (opt-in)

const ACCOUNT: &str = "111122223333";
const REGION: &str = "eu-west-1";
const KEY_ID: &str = "1234abcd-12ab-34cd-56ef-1234567890ab";

/// Both features on: a retention, a budget and the e-mail it needs.
const ON: &[(&str, &str)] = &[
    ("BackupRetentionDays", "7"),
    ("MonthlyBudgetUsd", "100"),
    ("AlarmEmail", "ops@example.com"),
    (
        "CorsAllowedOrigins",
        "https://app.example.com,http://localhost:5173",
    ),
    ("RouteScopes", "voice-learning/sessions"),
];

fn key_arn() -> String {
    format!("arn:aws:kms:{REGION}:{ACCOUNT}:key/{KEY_ID}")
}

fn resolver(t: &stack::Template, params: &[(&str, &str)]) -> stack::resolve::Resolver {
    // The parameters without a default, as deploy passes them.
    let mut p: std::collections::BTreeMap<String, String> = [
        ("UserPoolId", format!("{REGION}_Pool")),
        ("UserPoolClientId", "client".into()),
        ("CodeBucket", "assets".into()),
        ("SessionPersistenceCodeKey", "code/a.zip".into()),
        ("ContextManagerCodeKey", "code/b.zip".into()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    for (k, v) in params {
        p.insert(k.to_string(), v.to_string());
    }
    stack::resolve::Resolver::new(
        t,
        &stack::resolve::Place::new(ACCOUNT, REGION),
        &p,
        KEY_ID,
        &key_arn(),
    )
}

/// What CloudFormation deploys for `params`: the resources whose condition
/// holds, with every intrinsic resolved (`Fn::If` and `AWS::NoValue` too).
fn deployed(stage: Option<&str>, params: &[(&str, &str)]) -> serde_json::Map<String, Value> {
    let t = stack::synth(&stack::StackOptions {
        stage: stage.map(str::to_string),
        ..Default::default()
    })
    .unwrap();
    let r = resolver(&t, params);
    let json = t.to_json_value();
    let mut out = serde_json::Map::new();
    for (id, res) in json["Resources"].as_object().unwrap() {
        if let Some(c) = res["Condition"].as_str() {
            if !r.condition(c).expect("condition evaluates") {
                continue;
            }
        }
        let mut res = res.clone();
        res["Properties"] = r
            .resolve(&res["Properties"])
            .unwrap_or_else(|e| panic!("{id}: {e}"));
        out.insert(id.clone(), res);
    }
    out
}

/// The resource types that cost money and take tags.
const TAGGED_TYPES: &[&str] = &[
    "AWS::KMS::Key",
    "AWS::DynamoDB::Table",
    "AWS::Lambda::Function",
    "AWS::Logs::LogGroup",
    "AWS::ApiGatewayV2::Api",
    "AWS::ApiGatewayV2::Stage",
    "AWS::CloudWatch::Dashboard",
    "AWS::CloudWatch::Alarm",
    "AWS::SNS::Topic",
];
const OPT_IN_RESOURCES: &[(&str, &str)] = &[
    ("BackupRole", "BackupEnabled"),
    ("BackupVault", "BackupEnabled"),
    ("BackupPlan", "BackupEnabled"),
    ("BackupSelection", "BackupEnabled"),
    ("MonthlyBudget", "BudgetEnabled"),
];

#[test]
fn defaults_keep_backup_and_budget_off() {
    let t = template();
    for p in ["BackupRetentionDays", "MonthlyBudgetUsd"] {
        assert_eq!(t["Parameters"][p]["Default"], 0, "{p} defaults to off");
        assert_eq!(t["Parameters"][p]["Type"], "Number", "{p}");
    }
    // Every added resource is behind its feature's condition...
    for (id, condition) in OPT_IN_RESOURCES {
        assert_eq!(t["Resources"][id]["Condition"], *condition, "{id}");
    }
    // ...and with the defaults neither condition holds, so nothing of it
    // is deployed: no backup resource, no budget, no key statement, no tag.
    let typed = stack::synth(&Default::default()).unwrap();
    let r = resolver(&typed, &[]);
    assert_eq!(r.condition("BackupEnabled"), Some(false));
    assert_eq!(r.condition("BudgetEnabled"), Some(false));
    let d = deployed(None, &[]);
    for (id, _) in OPT_IN_RESOURCES {
        assert!(!d.contains_key(*id), "{id} deployed by default");
    }
    // Every resource but the e-mail subscription, which needs an address:
    // the alarm topic is always there (chat integrations subscribe to it),
    // with four DynamoDB throttle alarms and the 4xx surge alarm, and each
    // function's published version and `live` alias.
    assert_eq!(d.len(), 40, "{:?}", d.keys().collect::<Vec<_>>());
    assert!(d.contains_key("AlarmTopic") && !d.contains_key("AlarmEmailSubscription"));
    for (id, res) in &d {
        assert!(
            res["Properties"].get("Tags").is_none(),
            "{id} tagged by default"
        );
    }
    let sids: Vec<&str> = d["DataKey"]["Properties"]["KeyPolicy"]["Statement"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["Sid"].as_str().unwrap())
        .collect();
    assert!(!sids.contains(&"BackupVaultViaAwsBackup"), "{sids:?}");
}

#[test]
fn backups_exist_only_with_a_retention() {
    for (days, on) in [("0", false), ("1", true), ("35", true)] {
        let d = deployed(None, &[("BackupRetentionDays", days)]);
        for id in ["BackupRole", "BackupVault", "BackupPlan", "BackupSelection"] {
            assert_eq!(d.contains_key(id), on, "{id} with {days} days");
        }
        assert!(
            !d.contains_key("MonthlyBudget"),
            "backups alone add no budget"
        );
    }
    let t = template();
    let p = &t["Parameters"]["BackupRetentionDays"];
    assert_eq!(
        (p["MinValue"].as_i64(), p["MaxValue"].as_i64()),
        (Some(0), Some(35))
    );
}

#[test]
fn the_budget_exists_only_with_an_amount_and_an_alarm_email() {
    for (amount, email, on) in [
        ("0", "", false),
        ("100", "", false),
        ("0", "ops@example.com", false),
        ("100", "ops@example.com", true),
        ("12.5", "ops@example.com", true),
    ] {
        let d = deployed(None, &[("MonthlyBudgetUsd", amount), ("AlarmEmail", email)]);
        assert_eq!(
            d.contains_key("MonthlyBudget"),
            on,
            "budget {amount:?}, e-mail {email:?}"
        );
        // The cost-allocation tags exist exactly when the budget does.
        assert_eq!(
            d["SessionsTable"]["Properties"].get("Tags").is_some(),
            on,
            "tags with budget {amount:?}, e-mail {email:?}"
        );
        assert!(
            !d.contains_key("BackupVault"),
            "a budget alone adds no backups"
        );
    }
}

#[test]
fn the_backup_role_is_inline_only_and_scoped_to_the_tables_their_backups_and_the_key() {
    use stack::permissions as p;
    let d = deployed(None, ON);
    let role = &d["BackupRole"]["Properties"];
    for forbidden in ["ManagedPolicyArns", "PermissionsBoundary"] {
        assert!(role.get(forbidden).is_none(), "{forbidden}");
    }
    assert_eq!(
        role["AssumeRolePolicyDocument"]["Statement"],
        serde_json::json!([{"Sid": "BackupAssume", "Effect": "Allow",
            "Principal": {"Service": "backup.amazonaws.com"}, "Action": ["sts:AssumeRole"]}])
    );
    let table = |name: &str| format!("arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{name}");
    let mut allowed = BTreeSet::from([key_arn()]);
    for name in ["voice-learning-sessions", "voice-learning-user-profiles"] {
        allowed.insert(table(name));
        allowed.insert(format!("{}/backup/*", table(name)));
        allowed.insert(format!("{}{}*", table(name), p::RESTORED_SUFFIX));
    }
    let mut actions = BTreeSet::new();
    let policies = role["Policies"].as_array().unwrap();
    assert_eq!(policies.len(), 1);
    for s in policies[0]["PolicyDocument"]["Statement"]
        .as_array()
        .unwrap()
    {
        assert_eq!(s["Effect"], "Allow");
        for r in strings(&s["Resource"]) {
            assert!(allowed.contains(&r), "{}: resource {r}", s["Sid"]);
        }
        for a in strings(&s["Action"]) {
            assert!(!a.contains('*'), "wildcard action {a}");
            // Every KMS use but describing the key goes through DynamoDB.
            if a.starts_with("kms:") && a != "kms:DescribeKey" {
                assert_eq!(
                    s["Condition"]["StringEquals"]["kms:ViaService"],
                    format!("dynamodb.{REGION}.amazonaws.com"),
                    "{a}"
                );
            }
            if a == "kms:CreateGrant" {
                assert_eq!(s["Condition"]["Bool"]["kms:GrantIsForAWSResource"], "true");
            }
            actions.insert(a);
        }
    }
    let modelled: BTreeSet<String> = [
        p::BACKUP_TABLES,
        p::BACKUP_TABLE_BACKUPS,
        p::RESTORE_TARGETS,
        p::RESTORE_FROM_SOURCE_TABLES,
        p::BACKUP_KEY_VIA_DYNAMODB,
        p::BACKUP_KEY_GRANT,
        p::BACKUP_KEY_DESCRIBE,
    ]
    .iter()
    .flat_map(|l| l.iter().map(|a| a.to_string()))
    .collect();
    assert_eq!(
        actions, modelled,
        "the role grants exactly stack::permissions"
    );
    // Restored copies may be written, the live tables never.
    for s in policies[0]["PolicyDocument"]["Statement"]
        .as_array()
        .unwrap()
    {
        let writes = strings(&s["Action"]).iter().any(|a| {
            [
                "dynamodb:PutItem",
                "dynamodb:DeleteItem",
                "dynamodb:UpdateItem",
                "dynamodb:BatchWriteItem",
            ]
            .contains(&a.as_str())
        });
        if writes {
            for r in strings(&s["Resource"]) {
                assert!(
                    r.ends_with(&format!("{}*", p::RESTORED_SUFFIX)),
                    "writes to {r}"
                );
            }
        }
    }
}

#[test]
fn enabled_backup_copies_both_tables_daily_into_a_retained_vault_under_the_stack_key() {
    let d = deployed(None, ON);
    let vault = &d["BackupVault"];
    assert_eq!(vault["Properties"]["EncryptionKeyArn"], key_arn());
    assert_eq!(vault["DeletionPolicy"], "Retain");
    assert_eq!(vault["UpdateReplacePolicy"], "Retain");
    let rules = d["BackupPlan"]["Properties"]["BackupPlan"]["BackupPlanRule"]
        .as_array()
        .unwrap();
    assert_eq!(rules.len(), 1, "one daily rule");
    assert_eq!(rules[0]["TargetBackupVault"], "BackupVault");
    assert_eq!(rules[0]["ScheduleExpression"], "cron(0 3 * * ? *)");
    assert_eq!(
        rules[0]["Lifecycle"],
        serde_json::json!({"DeleteAfterDays": "7"})
    );
    let selection = &d["BackupSelection"]["Properties"];
    assert_eq!(selection["BackupPlanId"], "BackupPlan");
    assert_eq!(
        selection["BackupSelection"]["IamRoleArn"],
        format!("arn:aws:iam::{ACCOUNT}:role/voice-learning-backup-role")
    );
    assert_eq!(
        selection["BackupSelection"]["Resources"],
        serde_json::json!([
            format!("arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/voice-learning-sessions"),
            format!("arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/voice-learning-user-profiles"),
        ])
    );
    // The key lets the account's IAM policies create the vault's grant, only
    // through AWS Backup in this region, only in this account.
    let st = d["DataKey"]["Properties"]["KeyPolicy"]["Statement"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["Sid"] == "BackupVaultViaAwsBackup")
        .expect("the vault statement with backups on");
    assert_eq!(
        st["Principal"]["AWS"],
        format!("arn:aws:iam::{ACCOUNT}:root")
    );
    assert_eq!(
        st["Condition"]["StringEquals"],
        serde_json::json!({"kms:CallerAccount": ACCOUNT,
            "kms:ViaService": format!("backup.{REGION}.amazonaws.com")})
    );
}

#[test]
fn enabled_budget_alerts_the_alarm_email_on_the_stacks_tagged_cost() {
    let d = deployed(None, ON);
    let b = &d["MonthlyBudget"]["Properties"];
    assert_eq!(b["Budget"]["BudgetType"], "COST");
    assert_eq!(b["Budget"]["TimeUnit"], "MONTHLY");
    assert_eq!(
        b["Budget"]["BudgetLimit"],
        serde_json::json!({"Amount": "100", "Unit": "USD"})
    );
    assert_eq!(
        b["Budget"]["FilterExpression"],
        serde_json::json!({"Tags": {"Key": "Project", "Values": ["VoiceLearningAssistant"], "MatchOptions": ["EQUALS"]}})
    );
    let alerts: BTreeSet<(String, String)> = b["NotificationsWithSubscribers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| {
            assert_eq!(
                n["Subscribers"],
                serde_json::json!([{"SubscriptionType": "EMAIL", "Address": "ops@example.com"}])
            );
            assert_eq!(n["Notification"]["ThresholdType"], "PERCENTAGE");
            assert_eq!(n["Notification"]["ComparisonOperator"], "GREATER_THAN");
            (
                n["Notification"]["NotificationType"]
                    .as_str()
                    .unwrap()
                    .to_string(),
                n["Notification"]["Threshold"].to_string(),
            )
        })
        .collect();
    assert_eq!(
        alerts,
        BTreeSet::from([
            ("ACTUAL".into(), "80.0".into()),
            ("ACTUAL".into(), "100.0".into()),
            ("FORECASTED".into(), "100.0".into()),
        ])
    );
    // The budget sees only tagged spend: every resource that costs money
    // and takes tags carries the Project tag.
    let mut tagged = 0;
    for (id, res) in &d {
        let ty = res["Type"].as_str().unwrap();
        let tags = &res["Properties"]["Tags"];
        if !TAGGED_TYPES.contains(&ty) {
            assert!(tags.is_null(), "{id} ({ty}) tagged");
            continue;
        }
        let expected = if ty.starts_with("AWS::ApiGatewayV2::") {
            serde_json::json!({"Project": "VoiceLearningAssistant"})
        } else {
            serde_json::json!([{"Key": "Project", "Value": "VoiceLearningAssistant"}])
        };
        assert_eq!(*tags, expected, "{id}");
        tagged += 1;
    }
    // Key, 2 tables, 2 functions, 3 log groups, API and stage, dashboard,
    // 7 alarms, topic.
    assert!(tagged >= 19, "{tagged} tagged resources");
}

#[test]
fn a_staged_budget_counts_only_its_stage() {
    let d = deployed(Some("qa"), ON);
    assert_eq!(
        d["MonthlyBudget"]["Properties"]["Budget"]["FilterExpression"],
        serde_json::json!({"And": [
            {"Tags": {"Key": "Project", "Values": ["VoiceLearningAssistant"], "MatchOptions": ["EQUALS"]}},
            {"Tags": {"Key": "Stage", "Values": ["qa"], "MatchOptions": ["EQUALS"]}},
        ]})
    );
    assert_eq!(
        d["SessionsTable"]["Properties"]["Tags"],
        serde_json::json!([
            {"Key": "Project", "Value": "VoiceLearningAssistant"},
            {"Key": "Stage", "Value": "qa"},
        ])
    );
    assert_eq!(
        d["MonthlyBudget"]["Properties"]["Budget"]["BudgetName"],
        "voice-learning-monthly-cost-qa"
    );
}

/// The template with both features on by default, for linting the resources
/// the default template's condition hides from cfn-lint and checkov:
/// `.venv/bin/cfn-lint target/tmp/VoiceLearningAssistantStack-operations-on.json`,
/// `.venv/bin/checkov -f target/tmp/VoiceLearningAssistantStack-operations-on.json`.
#[test]
fn the_enabled_variant_validates_and_is_written_for_lint() {
    for (stage, file) in [
        (None, "VoiceLearningAssistantStack-operations-on.json"),
        (
            Some("qa"),
            "VoiceLearningAssistantStack-qa-operations-on.json",
        ),
    ] {
        let mut t = stack::synth(&stack::StackOptions {
            stage: stage.map(str::to_string),
            ..Default::default()
        })
        .unwrap();
        for (id, value) in ON {
            let p = &mut t
                .parameters
                .iter_mut()
                .find(|(k, _)| k == id)
                .unwrap_or_else(|| panic!("parameter {id}"))
                .1;
            p.default = Some(match value.parse::<i64>() {
                Ok(n) => n.into(),
                Err(_) => (*value).into(),
            });
        }
        stack::validate::validate(&t).expect("the enabled variant is valid");
        let path = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(file);
        std::fs::write(&path, t.to_json()).unwrap();
        eprintln!("enabled variant: {}", path.display());
    }
}

/// CreateBudget refuses a `FilterExpression` without `Metrics`.
#[test]
fn the_budget_filter_comes_with_metrics() {
    let t = template();
    let (_, budget) = resources_of(&t, "AWS::Budgets::Budget")
        .next()
        .expect("the template has the budget");
    let data = &budget["Properties"]["Budget"];
    assert!(data["FilterExpression"].is_object(), "{data}");
    assert_eq!(
        data["Metrics"],
        serde_json::json!(["UnblendedCost"]),
        "{data}"
    );
}

/// Endpoints, regional service principals, `kms:ViaService` values and the
/// Cognito issuer use `AWS::URLSuffix`: the only literal `amazonaws.com`
/// left are global service principals, which are the same in every
/// partition (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_principal.html#principal-services).
#[test]
fn only_global_service_principals_name_a_dns_suffix() {
    fn walk(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::String(s) if s.contains("amazonaws.com") => out.push(s.clone()),
            Value::Array(a) => a.iter().for_each(|x| walk(x, out)),
            Value::Object(m) => m.values().for_each(|x| walk(x, out)),
            _ => {}
        }
    }
    let mut found = vec![];
    walk(&template(), &mut found);
    let global = [
        "lambda.amazonaws.com",
        "backup.amazonaws.com",
        "apigateway.amazonaws.com",
        "cloudwatch.amazonaws.com",
    ];
    let other: Vec<&String> = found
        .iter()
        .filter(|s| !global.contains(&s.as_str()))
        .collect();
    assert!(other.is_empty(), "partition-bound names: {other:?}");
}

/// In China the key policy's `kms:ViaService` and the Logs principal end
/// with `amazonaws.com.cn`, and ARNs are in `aws-cn`.
#[test]
fn a_china_region_resolves_to_its_partition() {
    let t = stack::synth(&stack::StackOptions {
        stage: None,
        region: Some("cn-north-1".into()),
    })
    .unwrap();
    let place = stack::resolve::Place::new("111122223333", "cn-north-1");
    assert_eq!(place.partition, "aws-cn");
    let p = stack::access::StackPolicies::resolve(&t, &place, &Default::default(), "k").unwrap();
    let text = p.key_policy.to_string();
    assert!(
        text.contains("dynamodb.cn-north-1.amazonaws.com.cn"),
        "{text}"
    );
    assert!(text.contains("logs.cn-north-1.amazonaws.com.cn"), "{text}");
    assert!(text.contains("arn:aws-cn:iam::111122223333:root"), "{text}");
}

/// A region CloudFormation offers no budgets in gets the template without
/// the budget (a template naming a type the region lacks is refused whole,
/// whatever its conditions); every other resource stays.
#[test]
fn a_region_without_budgets_gets_no_budget_resource() {
    let types = |region: Option<&str>| -> Vec<&'static str> {
        stack::synth(&stack::StackOptions {
            stage: None,
            region: region.map(str::to_string),
        })
        .unwrap()
        .resources
        .iter()
        .map(|(_, r)| r.properties.type_name())
        .collect()
    };
    let all = types(None);
    let north = types(Some("eu-north-1"));
    assert!(all.contains(&"AWS::Budgets::Budget"));
    assert!(!north.contains(&"AWS::Budgets::Budget"), "{north:?}");
    assert_eq!(north.len(), all.len() - 1);
    assert_eq!(types(Some("eu-west-1")), all);
}

/// An endpoint the trust store refuses makes every call a 500 while Lambda's
/// own Errors metric stays 0: the functions publish a metric for it (the
/// embedded metric format) and each function has an alarm on the first
/// one. The trust store is a parameter, passed to both functions.
#[test]
fn an_untrusted_certificate_alarms_and_the_trust_store_is_a_parameter() {
    let t = template();
    let names = stack::Names::new(None).unwrap();
    for f in names.functions() {
        assert!(
            resources_of(&t, "AWS::CloudWatch::Alarm").any(|(_, a)| {
                let p = &a["Properties"];
                p["Namespace"] == stack::module::METRIC_NAMESPACE
                    && p["MetricName"] == stack::module::UNTRUSTED_CERTIFICATE
                    && p["Dimensions"] == serde_json::json!([{"Name": "FunctionName", "Value": f}])
                    && p["Threshold"] == 1.0
            }),
            "no untrusted-certificate alarm for {f}"
        );
        let (_, function) = resources_of(&t, "AWS::Lambda::Function")
            .find(|(_, r)| r["Properties"]["FunctionName"] == f)
            .unwrap();
        assert_eq!(
            function["Properties"]["Environment"]["Variables"]["TLS_TRUST_STORE"],
            serde_json::json!({"Ref": "TlsTrustStore"})
        );
    }
    assert_eq!(t["Parameters"]["TlsTrustStore"]["Default"], "amazon");
}

#[test]
fn cors_is_on_exactly_when_a_stage_lists_origins() {
    // No origins (the default): no CorsConfiguration, as before; a browser
    // cannot call the API. Origins: API Gateway answers the preflight with
    // the module's headers and methods.
    let off = deployed(None, &[]);
    assert!(
        off["HttpApi"]["Properties"]
            .get("CorsConfiguration")
            .is_none(),
        "{}",
        off["HttpApi"]
    );
    let on = deployed(
        None,
        &[(
            "CorsAllowedOrigins",
            "https://app.example.com,http://localhost:5173",
        )],
    );
    let cors = &on["HttpApi"]["Properties"]["CorsConfiguration"];
    assert_eq!(
        cors["AllowOrigins"],
        serde_json::json!(["https://app.example.com", "http://localhost:5173"])
    );
    assert_eq!(
        cors["AllowHeaders"],
        serde_json::json!(stack::module::cors::ALLOW_HEADERS)
    );
    assert_eq!(cors["AllowMethods"], serde_json::json!(["POST", "OPTIONS"]));
    assert_eq!(cors["ExposeHeaders"], serde_json::json!(["retry-after"]));
    assert_eq!(cors["MaxAge"], 600);
    // The parameter refuses what is not a list of origins.
    let t = stack::synth(&Default::default()).unwrap().to_json_value();
    let pattern = regex_lite::Regex::new(
        t["Parameters"]["CorsAllowedOrigins"]["AllowedPattern"]
            .as_str()
            .unwrap(),
    )
    .unwrap();
    for ok in [
        "",
        "https://app.example.com",
        "http://localhost:5173,https://a.b:8443",
    ] {
        assert!(pattern.is_match(ok), "{ok}");
    }
    for bad in [
        "app.example.com",
        "https://app.example.com/",
        "https://a.com, https://b.com",
        "*",
    ] {
        assert!(!pattern.is_match(bad), "{bad}");
    }
}

#[test]
fn route_scopes_are_required_exactly_when_a_stage_lists_them() {
    // None (the default): no AuthorizationScopes, id tokens pass as the
    // deployment guide's clients send them. Scopes: every route requires
    // one of them, which only access tokens carry.
    let off = deployed(None, &[]);
    let on = deployed(
        None,
        &[(
            "RouteScopes",
            "voice-learning/sessions,voice-learning/admin",
        )],
    );
    let routes: Vec<&str> = off
        .iter()
        .filter(|(_, r)| r["Type"] == "AWS::ApiGatewayV2::Route")
        .map(|(id, _)| id.as_str())
        .collect();
    assert_eq!(routes.len(), 2, "{routes:?}");
    for id in routes {
        assert!(
            off[id]["Properties"].get("AuthorizationScopes").is_none(),
            "{}",
            off[id]
        );
        assert_eq!(
            on[id]["Properties"]["AuthorizationScopes"],
            serde_json::json!(["voice-learning/sessions", "voice-learning/admin"])
        );
        assert_eq!(on[id]["Properties"]["AuthorizationType"], "JWT");
    }
    let t = stack::synth(&Default::default()).unwrap().to_json_value();
    let pattern = regex_lite::Regex::new(
        t["Parameters"]["RouteScopes"]["AllowedPattern"]
            .as_str()
            .unwrap(),
    )
    .unwrap();
    for ok in [
        "",
        "voice-learning/sessions",
        "openid,aws.cognito.signin.user.admin",
        "a:b/c-d",
    ] {
        assert!(pattern.is_match(ok), "{ok}");
    }
    for bad in ["voice learning", "a,,b", "a, b", "a\\b", "\"a\"", ",a"] {
        assert!(!pattern.is_match(bad), "{bad}");
    }
}

/// The API invokes each function's `live` alias, whose version is published
/// whenever the function changes: its description names the code key and
/// every parameter the function's configuration reads, and fits Lambda's
/// 256 characters at the parameters' longest.
#[test]
fn the_api_invokes_the_live_alias_of_a_version_published_on_every_change() {
    let t = stack::synth(&Default::default()).unwrap();
    let json = t.to_json_value();
    let res = &json["Resources"];
    for f in stack::Function::ALL {
        let alias = f.alias_id();
        let integration = &res[format!("{}Integration", f.id_prefix())]["Properties"];
        assert_eq!(
            integration["IntegrationUri"],
            serde_json::json!({"Ref": alias})
        );
        let permission = &res[format!("{}InvokePermission", f.id_prefix())]["Properties"];
        assert_eq!(
            permission["FunctionName"],
            serde_json::json!({"Ref": alias})
        );
        assert_eq!(res[alias]["Properties"]["Name"], "live");
        assert_eq!(
            res[alias]["Properties"]["FunctionVersion"],
            serde_json::json!({"Fn::GetAtt": [f.version_id(), "Version"]})
        );
        let version = &res[f.version_id()];
        assert_eq!(
            version["UpdateReplacePolicy"], "Retain",
            "earlier versions stay"
        );
        assert_eq!(version["DeletionPolicy"], "Delete");
        let description = version["Properties"]["Description"]["Fn::Sub"]
            .as_str()
            .expect("a Fn::Sub description");
        let vars = stack::expr::sub_variables(description);
        assert_eq!(vars[0], f.code_key_parameter(), "the code key first");
        // Every parameter of the function's properties but the bucket and
        // the reserved concurrency, which are not part of a version.
        let mut refs = vec![];
        stack::model::collect_refs(&res[f.logical_id()]["Properties"], &mut refs);
        for p in &t.parameters {
            let id = p.0.as_str();
            let versioned = !["CodeBucket", "ReservedConcurrency"].contains(&id);
            assert_eq!(
                vars.iter().any(|v| v == id),
                versioned && refs.iter().any(|r| r == id),
                "{}: {id}",
                f.version_id()
            );
        }
        for expected in [
            "LogLevel",
            "Architecture",
            "Tracing",
            "TlsTrustStore",
            f.memory_parameter(),
        ] {
            assert!(vars.iter().any(|v| v == expected), "{expected}");
        }
        // The longest value each parameter admits, in place of its `${…}`.
        let mut longest = description.len();
        for v in &vars {
            let p = &t.parameters.iter().find(|(id, _)| id == v).unwrap().1;
            let max = p
                .max_length
                .map(|m| m as usize)
                .or_else(|| p.allowed_values.iter().map(|a| a.len()).max())
                .or_else(|| p.max_value.map(|m| m.to_string().len()))
                .unwrap_or_else(|| panic!("{v} has no bound"));
            longest = longest - v.len() - 3 + max;
        }
        assert!(
            longest <= 256,
            "{}: up to {longest} characters",
            f.version_id()
        );
    }
}
