//! What `dev` reads from the stack model.

use local::model::{resolver, LocalModel, SECOND_CLIENT_ID, USER_POOL_CLIENT_ID, USER_POOL_ID};

#[test]
fn the_model_gives_routes_functions_tables_and_authorizer() {
    let (t, m) = LocalModel::synth(None).unwrap();
    assert_eq!(m.tables.len(), 2);
    assert_eq!(m.functions.len(), 2);
    let keys: Vec<&str> = m.routes.iter().map(|r| r.route_key.as_str()).collect();
    assert!(
        keys.contains(&"POST /sessions") && keys.contains(&"POST /context"),
        "{keys:?}"
    );
    let jwt = m.jwt().unwrap();
    assert_eq!(
        jwt.issuer,
        format!("https://cognito-idp.us-east-1.amazonaws.com/{USER_POOL_ID}")
    );
    // Two app clients, the web app's first, as a stage may list several.
    assert_eq!(
        jwt.audience,
        vec![
            USER_POOL_CLIENT_ID.to_string(),
            SECOND_CLIENT_ID.to_string()
        ]
    );
    assert_eq!(jwt.identity_header, "authorization");
    let r = resolver(&t, "kid-1", "arn:aws:kms:us-east-1:123456789012:key/kid-1");
    let f = &m.functions[0];
    assert_eq!(
        r.resolve(&f.env["SESSIONS_TABLE"]).unwrap(),
        "voice-learning-sessions"
    );
    assert_eq!(
        r.resolve(&f.env["KMS_KEY_ID"]).unwrap(),
        "arn:aws:kms:us-east-1:123456789012:key/kid-1"
    );
    let policy = r.resolve(&m.key.policy).unwrap().to_string();
    assert!(
        !policy.contains("Fn::") && !policy.contains("\"Ref\""),
        "{policy}"
    );
    assert!(policy.contains("arn:aws:iam::123456789012:root"));
}

#[test]
fn staged_names_flow_through() {
    let (_, m) = LocalModel::synth(Some("demo")).unwrap();
    assert!(m
        .tables
        .iter()
        .all(|(_, t)| t.table_name.ends_with("-demo")));
    assert!(m.functions.iter().all(|f| f.name.ends_with("-demo")));
}

#[test]
fn sub_handles_escapes_and_attributes() {
    let (t, _) = LocalModel::synth(None).unwrap();
    let r = resolver(&t, "k", "arn:k");
    let sub = |s: &str| r.resolve(&serde_json::json!({ "Fn::Sub": s }));
    assert_eq!(
        sub("${!Literal}-${AWS::Region}-${DataKey.Arn}").unwrap(),
        "${Literal}-us-east-1-arn:k"
    );
    assert!(sub("${Nope}").is_err());
}
