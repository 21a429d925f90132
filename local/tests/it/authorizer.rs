//! The local HTTP API's JWT authorizer, routes and events, with the
//! stand-in function (so the function's view of the request is visible,
//! and invocations are counted).

use crate::support::{data_dir, fixture, sign_with_dev_key, Dev};
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use serde_json::json;
use testkit::http::{claims_of, now, post_json};

fn foreign_key_pem() -> Vec<u8> {
    use aws_lc_rs::encoding::AsDer;
    let kp = aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).unwrap();
    let der = kp.as_der().unwrap();
    let b64 = STANDARD.encode(der.as_ref());
    let mut pem = String::from("-----BEGIN PRIVATE KEY-----\n");
    for c in b64.as_bytes().chunks(64) {
        pem.push_str(std::str::from_utf8(c).unwrap());
        pem.push('\n');
    }
    pem.push_str("-----END PRIVATE KEY-----\n");
    pem.into_bytes()
}

#[test]
fn authorizer_routes_and_events() {
    let dev = Dev::start(fixture(&data_dir("authz")));
    let good = dev.token("alice");
    let claims = claims_of(&good);
    let (iss, aud) = (
        claims["iss"].as_str().unwrap(),
        claims["aud"].as_str().unwrap(),
    );
    assert!(
        iss.starts_with("https://cognito-idp.us-east-1.amazonaws.com/"),
        "{iss}"
    );
    assert_eq!(claims["token_use"], "id");
    assert_eq!(claims["sub"], "alice");

    // A good token reaches the function, with the claims in the event.
    let body = json!({"action": "create", "session": {"currentTopic": "JavaScript Basics", "mode": "tutor"}});
    let r = dev.post("/sessions", Some(&good), &body);
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.header("apigw-requestid").is_some());
    let seen = r.json();
    assert_eq!(seen["function"], "voice-learning-session-persistence");
    assert_eq!(seen["routeKey"], "POST /sessions");
    assert_eq!(seen["claims"]["sub"], "alice");
    assert_eq!(seen["claims"]["aud"], aud);
    assert!(
        seen["claims"]["exp"].is_string(),
        "claims are strings, as API Gateway sends them"
    );
    assert_eq!(seen["body"], body);
    // The environment comes from the template, resolved to local names and key.
    assert_eq!(seen["env"]["SESSIONS_TABLE"], "voice-learning-sessions");
    assert_eq!(
        seen["env"]["USER_PROFILES_TABLE"],
        "voice-learning-user-profiles"
    );
    let key = seen["env"]["KMS_KEY_ID"].as_str().unwrap();
    assert!(
        key.starts_with("arn:aws:kms:us-east-1:123456789012:key/"),
        "{key}"
    );
    assert!(seen["env"]["AWS_ENDPOINT_URL"]
        .as_str()
        .unwrap()
        .starts_with("http://127.0.0.1:"));
    assert_eq!(
        seen["invocation"]["functionArn"],
        "arn:aws:lambda:us-east-1:123456789012:function:voice-learning-session-persistence"
    );
    let deadline: u64 = seen["invocation"]["deadlineMs"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        deadline > now() * 1000 && deadline <= (now() + 12) * 1000,
        "{deadline}"
    );
    let r = dev.post("/context", Some(&good), &json!({"action": "get_context"}));
    assert_eq!(r.json()["function"], "voice-learning-context-manager");
    // Without "Bearer " the token is accepted too (API Gateway strips it when present).
    let r = dev.request("POST", "/sessions", &[("Authorization", &good)], "{}");
    assert_eq!(r.status, 200, "{}", r.body);

    // An access token: client_id instead of aud.
    let access = sign_with_dev_key(
        &dev,
        &json!({"sub": "bob", "iss": iss, "client_id": aud, "token_use": "access", "scope": "aws.cognito.signin.user.admin", "exp": now() + 600}),
    );
    let r = dev.post("/sessions", Some(&access), &json!({}));
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["claims"]["sub"], "bob");
    // API Gateway does not check token_use: a token without one (or any
    // other value) whose aud matches passes, as it would in production.
    for token_use in [None, Some("refresh"), Some("access")] {
        let mut c =
            json!({"sub": "carol", "iss": iss, "aud": aud, "iat": now(), "exp": now() + 600});
        if let Some(t) = token_use {
            c["token_use"] = json!(t);
        }
        let r = dev.post("/sessions", Some(&sign_with_dev_key(&dev, &c)), &json!({}));
        assert_eq!(r.status, 200, "token_use {token_use:?}: {}", r.body);
    }

    // Every bad token: 401 from the gateway, and the function never ran.
    let before = dev.invocations();
    let parts: Vec<&str> = good.split('.').collect();
    let alg_none = format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#),
        parts[1]
    );
    let mut foreign_header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256);
    foreign_header.kid = jsonwebtoken::decode_header(&good).unwrap().kid;
    let bad_signature = jsonwebtoken::encode(
        &foreign_header,
        &claims,
        &jsonwebtoken::EncodingKey::from_rsa_pem(&foreign_key_pem()).unwrap(),
    )
    .unwrap();
    let tampered = format!(
        "{}.{}.{}",
        parts[0],
        URL_SAFE_NO_PAD.encode(br#"{"sub":"mallory"}"#),
        parts[2]
    );
    let hs256 = jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(b"secret"),
    )
    .unwrap();
    let signed = |c: serde_json::Value| sign_with_dev_key(&dev, &c);
    let cases: Vec<(&str, Option<String>)> = vec![
        ("no token", None),
        ("empty", Some(String::new())),
        ("malformed", Some("not-a-jwt".into())),
        ("malformed parts", Some("a.b.c".into())),
        ("bad signature", Some(bad_signature)),
        ("tampered payload", Some(tampered)),
        ("alg none", Some(alg_none)),
        ("HS256", Some(hs256)),
        (
            "expired",
            Some(signed(
                json!({"sub": "alice", "iss": iss, "aud": aud, "token_use": "id", "exp": now() - 120}),
            )),
        ),
        (
            "wrong audience",
            Some(signed(
                json!({"sub": "alice", "iss": iss, "aud": "someone-else", "token_use": "id", "exp": now() + 600}),
            )),
        ),
        (
            "wrong issuer",
            Some(signed(
                json!({"sub": "alice", "iss": "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Other", "aud": aud, "token_use": "id", "exp": now() + 600}),
            )),
        ),
        (
            "issued in the future",
            Some(signed(
                json!({"sub": "alice", "iss": iss, "aud": aud, "token_use": "id", "iat": now() + 600, "exp": now() + 1200}),
            )),
        ),
        (
            "another app's aud with our client_id (aud decides)",
            Some(signed(
                json!({"sub": "alice", "iss": iss, "aud": "someone-else", "client_id": aud, "exp": now() + 600}),
            )),
        ),
        (
            "another app's client_id",
            Some(signed(
                json!({"sub": "alice", "iss": iss, "client_id": "someone-else", "exp": now() + 600}),
            )),
        ),
        (
            "neither aud nor client_id",
            Some(signed(
                json!({"sub": "alice", "iss": iss, "exp": now() + 600}),
            )),
        ),
        (
            "no exp",
            Some(signed(
                json!({"sub": "alice", "iss": iss, "aud": aud, "token_use": "id"}),
            )),
        ),
    ];
    for (name, token) in &cases {
        for path in ["/sessions", "/context"] {
            let r = match token {
                None => dev.request("POST", path, &[("Content-Type", "application/json")], "{}"),
                Some(t) => dev.request(
                    "POST",
                    path,
                    &[("Authorization", &format!("Bearer {t}"))],
                    "{}",
                ),
            };
            assert_eq!(r.status, 401, "{name} on {path}: {}", r.body);
            assert_eq!(r.json(), json!({"message": "Unauthorized"}), "{name}");
            assert!(
                r.header("www-authenticate")
                    .is_some_and(|h| h.contains("invalid_token")),
                "{name}"
            );
        }
    }
    let stats = dev.stats();
    assert_eq!(
        dev.invocations(),
        before,
        "a rejected request reached a function: {stats}"
    );
    assert!(stats["unauthorized"].as_u64().unwrap() >= 2 * cases.len() as u64);

    // Routes come from the model: anything else is API Gateway's 404.
    for (method, path) in [("GET", "/sessions"), ("POST", "/nope"), ("PUT", "/context")] {
        let r = dev.request(
            method,
            path,
            &[("Authorization", &format!("Bearer {good}"))],
            "",
        );
        assert_eq!(r.status, 404, "{method} {path}");
        assert_eq!(r.json(), json!({"message": "Not Found"}));
    }
    assert_eq!(dev.invocations(), before);
}

#[test]
fn every_listed_app_client_gets_in_and_dev_token_names_one() {
    // The authorizer's audience is a list: a token of the second client
    // passes; `dev token --client-id` refuses a client that is not listed.
    let dev = Dev::start(fixture(&data_dir("clients")));
    let second = local::start::dev_token(
        &dev.data_dir,
        None,
        "backend",
        std::time::Duration::from_secs(3600),
        &[],
        Some(local::model::SECOND_CLIENT_ID),
        &[],
    )
    .unwrap();
    assert_eq!(claims_of(&second)["aud"], local::model::SECOND_CLIENT_ID);
    let r = post_json(
        dev.port,
        "/sessions",
        Some(&second),
        &json!({"action": "list"}),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let err = local::start::dev_token(
        &dev.data_dir,
        None,
        "x",
        std::time::Duration::from_secs(3600),
        &[],
        Some("otherclient"),
        &[],
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("--client-id otherclient is not one of dev's app clients")
            && err.contains(local::model::USER_POOL_CLIENT_ID),
        "{err}"
    );
}

/// With route scopes (`RouteScopes`, `dev --route-scope`), as API Gateway
/// does: a token without one of them (every id token: it has no `scope`
/// claim) gets 403 and no function runs; an access token granted one passes.
#[test]
fn route_scopes_refuse_id_tokens_and_pass_access_tokens_with_a_scope() {
    let scope = "voice-learning/sessions".to_string();
    let mut opts = fixture(&data_dir("scopes"));
    opts.route_scopes = vec![scope.clone(), "voice-learning/admin".into()];
    let dev = Dev::start(opts);
    let body = json!({"action": "list"});
    let id_token = dev.token("alice");
    let r = post_json(dev.port, "/sessions", Some(&id_token), &body);
    assert_eq!(r.status, 403, "{}", r.body);
    assert!(r.body.contains("Forbidden"), "{}", r.body);
    let token = |scopes: &[String]| {
        local::start::dev_token(
            &dev.data_dir,
            None,
            "alice",
            std::time::Duration::from_secs(3600),
            &[],
            None,
            scopes,
        )
        .unwrap()
    };
    let other = token(&["voice-learning/read".into()]);
    assert_eq!(claims_of(&other)["token_use"], "access");
    assert_eq!(
        post_json(dev.port, "/sessions", Some(&other), &body).status,
        403
    );
    let granted = token(&["openid".into(), scope]);
    let claims = claims_of(&granted);
    assert_eq!(claims["client_id"], local::model::USER_POOL_CLIENT_ID);
    assert!(claims.get("aud").is_none(), "{claims}");
    let r = post_json(dev.port, "/sessions", Some(&granted), &body);
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        dev.invocations(),
        1,
        "only the request with a granted scope reached a function"
    );
}
