//! The local signing key, dev tokens and the JWT authorizer's Cognito rules.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use local::jwt::{check_ttl, now_secs, Authorizer, SigningKey};
use local::model::JwtSpec;
use serde_json::json;
use std::time::Duration;

#[test]
fn token_lifetimes_are_bounded_and_never_overflow() {
    assert_eq!(check_ttl(Duration::from_secs(3600)).unwrap(), 3600);
    assert_eq!(check_ttl(Duration::from_millis(90_400)).unwrap(), 90);
    for bad in [0, 367 * 86_400, u64::MAX] {
        assert!(
            check_ttl(Duration::from_secs(bad)).is_err(),
            "{bad}s accepted"
        );
    }
}

fn setup() -> (SigningKey, Authorizer) {
    let dir = std::env::temp_dir().join(format!("xtask-jwt-test-{}", std::process::id()));
    let key = SigningKey::load_or_create(&dir).unwrap();
    let again = SigningKey::load_or_create(&dir).unwrap();
    assert_eq!(key.kid, again.kid, "the key is kept");
    let _ = std::fs::remove_dir_all(&dir);
    let spec = JwtSpec {
        logical_id: "A".into(),
        issuer: "https://issuer".into(),
        audience: vec!["client".into()],
        identity_header: "authorization".into(),
    };
    let auth = Authorizer::new(&spec, &key.jwks()).unwrap();
    (key, auth)
}

#[test]
fn cognito_rules() {
    let (key, auth) = setup();
    let good = key
        .id_token("https://issuer", "client", "alice", 60, &[])
        .unwrap();
    let claims = auth.authorize(Some(&format!("Bearer {good}"))).unwrap();
    assert_eq!(claims["sub"], "alice");
    assert!(claims.get("cognito:groups").is_none());
    let writer = key
        .id_token(
            "https://issuer",
            "client",
            "alice",
            60,
            &["assistant-writers".into()],
        )
        .unwrap();
    let claims = auth.authorize(Some(&format!("Bearer {writer}"))).unwrap();
    assert_eq!(
        claims["cognito:groups"],
        serde_json::json!(["assistant-writers"])
    );
    assert!(
        auth.authorize(Some(&good)).is_ok(),
        "the Bearer prefix is optional"
    );
    let now = now_secs();
    let access = key
        .sign(&json!({"sub": "a", "iss": "https://issuer", "client_id": "client", "token_use": "access", "exp": now + 60}))
        .unwrap();
    assert!(auth.authorize(Some(&access)).is_ok());
    // token_use is not checked, as API Gateway does not check it.
    for c in [
        json!({"sub": "a", "iss": "https://issuer", "aud": "client", "exp": now + 60}),
        json!({"sub": "a", "iss": "https://issuer", "aud": "client", "token_use": "refresh", "exp": now + 60}),
        json!({"sub": "a", "iss": "https://issuer", "client_id": "client", "token_use": "id", "iat": now, "exp": now + 60}),
    ] {
        assert!(auth.authorize(Some(&key.sign(&c).unwrap())).is_ok(), "{c}");
    }
    for (claims, why) in [
        (
            json!({"sub": "a", "iss": "https://issuer", "aud": "client", "token_use": "id", "exp": now - 5}),
            "expired",
        ),
        (
            json!({"sub": "a", "iss": "https://other", "aud": "client", "token_use": "id", "exp": now + 60}),
            "issuer",
        ),
        (
            json!({"sub": "a", "iss": "https://issuer", "aud": "other", "token_use": "id", "exp": now + 60}),
            "aud",
        ),
        (
            json!({"sub": "a", "iss": "https://issuer", "aud": "client", "iat": now + 30, "exp": now + 60}),
            "future",
        ),
        (
            json!({"sub": "a", "iss": "https://issuer", "aud": "other", "client_id": "client", "exp": now + 60}),
            "aud",
        ),
        (
            json!({"sub": "a", "iss": "https://issuer", "client_id": "other", "exp": now + 60}),
            "client_id",
        ),
        (
            json!({"sub": "a", "iss": "https://issuer", "aud": "client", "token_use": "id"}),
            "exp",
        ),
    ] {
        let t = key.sign(&claims).unwrap();
        let e = auth.authorize(Some(&t)).unwrap_err();
        assert!(e.0.contains(why), "{why}: {e:?}");
    }
    assert!(auth.authorize(None).is_err());
    assert!(auth.authorize(Some("Basic abc")).is_err());
    assert!(auth.authorize(Some("not.a.jwt")).is_err());
    // alg none: a valid payload with no signature.
    let parts: Vec<&str> = good.split('.').collect();
    let none = format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#),
        parts[1]
    );
    assert!(auth.authorize(Some(&none)).is_err());
    // A tampered payload fails the signature.
    let tampered = format!(
        "{}.{}.{}",
        parts[0],
        URL_SAFE_NO_PAD.encode(br#"{"sub":"mallory"}"#),
        parts[2]
    );
    assert!(auth.authorize(Some(&tampered)).is_err());
}

#[test]
fn ttls() {
    assert_eq!(check_ttl(Duration::from_secs(172_800)).unwrap(), 172_800);
    assert!(check_ttl(Duration::from_millis(999)).is_err());
}
