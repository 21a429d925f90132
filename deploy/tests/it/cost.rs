//! `cost`: the estimate's arithmetic, its fixed and per-student parts, and
//! the limits it shares with the API.

use deploy::cost::{estimate, quantity, Usage};

fn usd(e: &deploy::cost::Estimate, item: &str) -> f64 {
    e.lines
        .iter()
        .find(|l| l.item.starts_with(item))
        .unwrap_or_else(|| panic!("no line {item}"))
        .usd
}

#[test]
fn the_guides_example_is_priced_line_by_line() {
    let e = estimate(&Usage::default()).unwrap();
    // 20,000 sessions of create, restore, 30 add_turn and 15 get_context.
    assert_eq!(e.requests, 940_000.0);
    let wru = e.lines.iter().find(|l| l.unit == "WRU").unwrap().quantity;
    // 2 units per 1 KB turn, the create's 2, 3 refreshes of 3.
    assert_eq!(wru, 20_000.0 * (30.0 * 2.0 + 2.0 + 3.0 * 3.0));
    assert!((usd(&e, "HTTP API") - 0.94).abs() < 1e-9);
    assert_eq!(usd(&e, "KMS key"), 1.0);
    // Every alarm of the template, priced: 4 per function, 2 per table, 2
    // on the API.
    assert_eq!(deploy::cost::alarm_count(), 14.0);
    assert!((usd(&e, "CloudWatch alarms") - 1.40).abs() < 1e-9);
    let sum: f64 = e.lines.iter().map(|l| l.usd).sum();
    assert!((e.total_usd - sum).abs() < 1e-9);
    // X-Ray records nearly every request at this traffic: 940,000 traces.
    let traces = e.lines.iter().find(|l| l.unit == "traces").unwrap();
    assert_eq!(traces.quantity, 940_000.0);
    assert!((traces.usd - 4.70).abs() < 1e-9);
    assert!(e.total_usd > 8.0 && e.total_usd < 14.0, "{}", e.total_usd);
    assert!(e.notes[0].contains("us-east-1") && e.notes[0].contains("check"));
}

#[test]
fn usage_scales_and_fixed_costs_do_not() {
    let one = estimate(&Usage::default()).unwrap();
    let ten = estimate(&Usage {
        students: 10_000,
        ..Usage::default()
    })
    .unwrap();
    for item in [
        "HTTP API",
        "Lambda requests",
        "DynamoDB write",
        "DynamoDB read",
    ] {
        assert!(
            // Each figure is rounded to hundredths of a cent.
            (usd(&ten, item) - 10.0 * usd(&one, item)).abs() < 1e-3,
            "{item}"
        );
    }
    assert_eq!(usd(&ten, "KMS key"), usd(&one, "KMS key"));
    assert_eq!(
        usd(&ten, "CloudWatch alarms"),
        usd(&one, "CloudWatch alarms")
    );
    // Bigger turns: more write units per turn (a 4 KB turn is a 5-unit item).
    let big = estimate(&Usage {
        turn_bytes: 4096,
        ..Usage::default()
    })
    .unwrap();
    assert!(usd(&big, "DynamoDB write") > 2.0 * usd(&one, "DynamoDB write"));
}

#[test]
fn what_the_api_refuses_is_refused_here_too() {
    for (u, says) in [
        (
            Usage {
                students: 0,
                ..Usage::default()
            },
            "at least 1",
        ),
        (
            Usage {
                turns_per_session: 5_001,
                ..Usage::default()
            },
            "5,000 turns",
        ),
        (
            Usage {
                turn_bytes: 20_000,
                ..Usage::default()
            },
            "16 KiB",
        ),
    ] {
        let e = estimate(&u).unwrap_err().to_string();
        assert!(e.contains(says), "{e}");
    }
    assert_eq!(quantity(1_420_000.0), "1,420,000");
    assert_eq!(quantity(0.78), "0.78");
}

#[test]
fn actual_months_and_periods() {
    use deploy::cost_actual::{parse_month, period};
    assert_eq!(parse_month("2026-10").unwrap(), (2026, 10));
    for bad in ["2026", "2026-13", "26-10", "october"] {
        let e = parse_month(bad).unwrap_err().to_string();
        assert!(e.contains("YYYY-MM"), "{e}");
    }
    let today = "2026-11-29T16:20:01.000Z";
    assert_eq!(
        period(None, today),
        ("2026-11-01".into(), "2026-11-30".into())
    );
    assert_eq!(
        period(None, "2026-11-30T23:00:00.000Z"),
        ("2026-11-01".into(), "2026-12-01".into())
    );
    assert_eq!(
        period(Some((2025, 12)), today),
        ("2025-12-01".into(), "2026-01-01".into())
    );
}

/// Cost Explorer's recorded answer over two pages: the spend by service,
/// filtered on the stage's tags.
#[test]
fn actual_spend_by_service_from_cost_explorer() {
    let page = |groups: serde_json::Value, token: Option<&str>| {
        let mut body = serde_json::json!({"ResultsByTime": [{
            "TimePeriod": {"Start": "2026-10-01", "End": "2026-11-01"},
            "Total": {}, "Groups": groups, "Estimated": false}],
            "DimensionValueAttributes": []});
        if let Some(t) = token {
            body["NextPageToken"] = t.into();
        }
        serde_json::json!({"operation": "GetCostAndUsage", "body": body})
    };
    let cost = |service: &str, usd: &str| serde_json::json!({"Keys": [service], "Metrics": {"UnblendedCost": {"Amount": usd, "Unit": "USD"}}});
    let replay = testkit::replay::Replay::from_json(&serde_json::json!({"responses": [
        page(serde_json::json!([cost("AWS Lambda", "0.27"), cost("Amazon DynamoDB", "1.45")]), Some("p2")),
        page(serde_json::json!([cost("AWS Key Management Service", "1.31")]), None),
    ]}));
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let aws = deploy::aws::Aws::from_conf(rt.block_on(replay.sdk_config()), "123456789012");
    let a = rt
        .block_on(deploy::cost_actual::actual(
            &aws,
            Some("qa"),
            Some((2026, 10)),
        ))
        .expect("actual");
    assert_eq!(
        (a.start.as_str(), a.end.as_str()),
        ("2026-10-01", "2026-11-01")
    );
    let names: Vec<&str> = a.services.iter().map(|s| s.service.as_str()).collect();
    assert_eq!(
        names,
        [
            "Amazon DynamoDB",
            "AWS Key Management Service",
            "AWS Lambda"
        ]
    );
    assert!((a.total_usd - 3.03).abs() < 1e-9);
    assert!(!a.estimated);
    let calls = replay.requests("GetCostAndUsage");
    assert_eq!(calls.len(), 2);
    for must in [
        r#""Key":"Project""#,
        r#""Values":["VoiceLearningAssistant"]"#,
        r#""Key":"Stage""#,
        r#""Values":["qa"]"#,
        r#""Key":"SERVICE""#,
        r#""Granularity":"MONTHLY""#,
    ] {
        assert!(calls[0].contains(must), "{must}: {}", calls[0]);
    }
    assert!(calls[1].contains(r#""NextPageToken":"p2""#), "{}", calls[1]);
}
