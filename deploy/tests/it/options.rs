//! Everything a user can get wrong locally is refused before AWS is asked.

use deploy::options::{check_writable, valid_client_id, valid_email, valid_user_pool_id};
use std::path::Path;

#[test]
fn user_pool_ids() {
    assert!(valid_user_pool_id("us-east-1_AbC123xyz"));
    assert!(valid_user_pool_id("eu-west-2_x"));
    for bad in [
        "",
        "us-east-1",
        "us-east-1_",
        "AbC123",
        "us-east-1_Ab-C",
        "not a pool",
        "us-east-1_ab_c",
        "x_abc",
    ] {
        assert!(!valid_user_pool_id(bad), "{bad}");
    }
}

#[test]
fn emails_and_client_ids() {
    assert!(valid_email("") && valid_email("ops@example.com"));
    assert!(
        !valid_email("ops")
            && !valid_email("a b@c.d")
            && !valid_email("@c.d")
            && !valid_email("a@b")
    );
    assert!(valid_client_id("4tq9s1abcdefghijk2"));
    assert!(!valid_client_id("") && !valid_client_id("a-b") && !valid_client_id(&"a".repeat(129)));
}

#[test]
fn outputs_file_must_be_writable() {
    assert!(check_writable(Path::new("/nonexistent-dir/x.json")).is_err());
    let dir = std::env::temp_dir();
    assert!(check_writable(&dir)
        .unwrap_err()
        .to_string()
        .contains("is a directory"));
    let p = dir.join(format!("xtask-outputs-{}.json", std::process::id()));
    check_writable(&p).unwrap();
    assert!(!p.exists(), "the probe file is removed again");
}

#[test]
fn backup_retention_and_budget_are_checked_and_passed_as_parameters() {
    use deploy::options::ParamOptions;
    let ok = ParamOptions {
        backup_retention_days: Some(14),
        monthly_budget_usd: Some(50),
        alarm_email: Some("ops@example.com".into()),
        ..ParamOptions::default()
    };
    ok.validate().unwrap();
    let p = ok.explicit();
    assert_eq!(p["BackupRetentionDays"], "14");
    assert_eq!(p["MonthlyBudgetUsd"], "50");
    let amazon = ParamOptions {
        tls_trust_store: Some("public".into()),
        ..ParamOptions::default()
    };
    amazon.validate().unwrap();
    assert_eq!(amazon.explicit()["TlsTrustStore"], "public");
    // Not given: kept from the deployed stack (not sent).
    let p = ParamOptions::default().explicit();
    assert!(!p.contains_key("BackupRetentionDays") && !p.contains_key("MonthlyBudgetUsd"));
    for (bad, says) in [
        (
            ParamOptions {
                backup_retention_days: Some(36),
                ..ParamOptions::default()
            },
            "--backup-retention-days 36 is more than 35",
        ),
        (
            ParamOptions {
                monthly_budget_usd: Some(2_000_000),
                ..ParamOptions::default()
            },
            "--monthly-budget-usd 2000000 is more than",
        ),
        (
            ParamOptions {
                monthly_budget_usd: Some(50),
                alarm_email: Some(String::new()),
                ..ParamOptions::default()
            },
            "needs an e-mail",
        ),
        (
            ParamOptions {
                tls_trust_store: Some("mozilla".into()),
                ..ParamOptions::default()
            },
            "--tls-trust-store `mozilla` is not one of amazon, public, system",
        ),
    ] {
        let e = bad.validate().unwrap_err().to_string();
        assert!(e.contains(says), "{e}");
    }
}

#[test]
fn route_scopes_are_checked_and_passed_as_one_parameter() {
    use deploy::options::ParamOptions;
    let ok = ParamOptions {
        route_scopes: Some(vec![
            "voice-learning/sessions".into(),
            "voice-learning/admin".into(),
        ]),
        ..ParamOptions::default()
    };
    ok.validate().unwrap();
    assert_eq!(
        ok.explicit()["RouteScopes"],
        "voice-learning/sessions,voice-learning/admin"
    );
    // '' turns them off; not given keeps the deployed value.
    let off = ParamOptions {
        route_scopes: Some(vec![String::new()]),
        ..ParamOptions::default()
    };
    off.validate().unwrap();
    assert_eq!(off.explicit()["RouteScopes"], "");
    assert!(!ParamOptions::default()
        .explicit()
        .contains_key("RouteScopes"));
    for bad in ["voice learning/sessions", "a,b", "say\"hi\""] {
        let e = ParamOptions {
            route_scopes: Some(vec![bad.into()]),
            ..ParamOptions::default()
        }
        .validate()
        .unwrap_err()
        .to_string();
        assert!(
            e.contains(&format!("--route-scope `{bad}` is not an OAuth scope")),
            "{e}"
        );
    }
}
