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
    assert!((usd(&e, "CloudWatch alarms") - 0.70).abs() < 1e-9);
    let sum: f64 = e.lines.iter().map(|l| l.usd).sum();
    assert!((e.total_usd - sum).abs() < 1e-9);
    assert!(e.total_usd > 4.0 && e.total_usd < 8.0, "{}", e.total_usd);
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
            (usd(&ten, item) - 10.0 * usd(&one, item)).abs() < 1e-6,
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
