//! Alarms (errors, latency, throttles, 5xx and 4xx surges, untrusted
//! certificates), the alarm topic and the dashboard.

use super::*;

/// The metric the functions publish (CloudWatch embedded metric format,
/// dimension `FunctionName`) when an endpoint's certificate does not chain
/// to a trusted root (`functions::error`; a test keeps them equal).
pub const UNTRUSTED_CERTIFICATE: &str = "UntrustedCertificate";

pub(super) fn alarm_actions() -> Expr {
    list([r#ref(ALARM_TOPIC)])
}

#[allow(clippy::too_many_arguments)]
pub(super) fn alarm(
    name: String,
    description: String,
    namespace: &str,
    metric: &str,
    dimension: Option<(&str, Expr)>,
    statistic: &str,
    threshold: f64,
    evaluation_periods: i64,
) -> Alarm {
    let extended = statistic.starts_with('p');
    Alarm {
        alarm_name: name,
        alarm_description: description,
        namespace: namespace.into(),
        metric_name: metric.into(),
        dimensions: dimension
            .into_iter()
            .map(|(name, value)| Dimension {
                name: name.into(),
                value,
            })
            .collect(),
        statistic: (!extended).then(|| statistic.to_string()),
        extended_statistic: extended.then(|| statistic.to_string()),
        period: 300,
        evaluation_periods,
        threshold,
        comparison_operator: "GreaterThanOrEqualToThreshold".into(),
        treat_missing_data: "notBreaching".into(),
        alarm_actions: alarm_actions(),
        ok_actions: alarm_actions(),
        tags: None,
    }
}

pub(super) fn monitoring(t: &mut Template, n: &Names, functions: &[FunctionSpec]) {
    t.resource(
        ALARM_TOPIC,
        Resource::new(Topic {
            topic_name: format!("{}-alarms", n.api),
            display_name: "Voice learning session alarms".into(),
            kms_master_key_id: r#ref(KEY),
            tags: None,
        }),
        // Always there, so a chat integration (AWS Chatbot, a webhook
        // subscriber) can page through it without an e-mail address.
    );
    t.resource(
        "AlarmEmailSubscription",
        Resource::new(Subscription {
            protocol: "email".into(),
            endpoint: r#ref(P_ALARM_EMAIL),
            topic_arn: r#ref(ALARM_TOPIC),
        })
        .condition(C_HAS_ALARM_EMAIL),
    );
    let p99_ms = (FUNCTION_TIMEOUT_SECONDS * 1000) as f64 * 0.8;
    // (logical id suffix, name suffix, what it means, metric, statistic, threshold, periods)
    let per_function: [(&str, &str, String, &str, &str, f64, i64); 3] = [
        (
            "ErrorsAlarm",
            "errors",
            "returned errors (unhandled failures)".into(),
            "Errors",
            "Sum",
            1.0,
            1,
        ),
        (
            "ThrottlesAlarm",
            "throttles",
            "was throttled: raise ReservedConcurrency".into(),
            "Throttles",
            "Sum",
            1.0,
            1,
        ),
        (
            "DurationP99Alarm",
            "duration-p99",
            format!("p99 duration is above 80% of its {FUNCTION_TIMEOUT_SECONDS}s timeout"),
            "Duration",
            "p99",
            p99_ms,
            3,
        ),
    ];
    for f in functions {
        t.resource(
            &format!("{}UntrustedCertificateAlarm", f.function.id_prefix()),
            Resource::new(alarm(
                format!("{}-untrusted-certificate", f.name),
                format!(
                    "{} met an AWS endpoint whose TLS certificate its trust store refuses (every call fails): see the hint in its log; deploy with TlsTrustStore=system behind a TLS-inspecting proxy",
                    f.name
                ),
                METRIC_NAMESPACE,
                UNTRUSTED_CERTIFICATE,
                Some(("FunctionName", s(f.name.to_string()))),
                "Sum",
                1.0,
                1,
            )),
        );
        for (id_suffix, name_suffix, meaning, metric, statistic, threshold, periods) in
            &per_function
        {
            t.resource(
                &format!("{}{id_suffix}", f.function.id_prefix()),
                Resource::new(alarm(
                    format!("{}-{name_suffix}", f.name),
                    format!("{} {meaning}", f.name),
                    "AWS/Lambda",
                    metric,
                    Some(("FunctionName", s(f.name.to_string()))),
                    statistic,
                    *threshold,
                    *periods,
                )),
            );
        }
    }
    // DynamoDB throttling (on-demand tables throttle past their account or
    // partition limits): any read or write throttle event in 5 minutes.
    for (table_id, table) in [
        (SESSIONS_TABLE, &n.sessions_table),
        (USER_PROFILES_TABLE, &n.user_profiles_table),
    ] {
        for (kind, metric) in [
            ("Read", "ReadThrottleEvents"),
            ("Write", "WriteThrottleEvents"),
        ] {
            t.resource(
                &format!("{table_id}{kind}ThrottleAlarm"),
                Resource::new(alarm(
                    format!("{table}-{}-throttles", kind.to_ascii_lowercase()),
                    format!("{table} throttled {} requests: the functions answer 503 and clients retry; see the runbook", kind.to_ascii_lowercase()),
                    "AWS/DynamoDB",
                    metric,
                    Some(("TableName", r#ref(table_id))),
                    "Sum",
                    1.0,
                    1,
                )),
            );
        }
    }
    t.resource(
        "HttpApi4xxSurgeAlarm",
        Resource::new(alarm(
            format!("{}-4xx-surge", n.api),
            format!("The HTTP API answered {HTTP_4XX_SURGE} or more 4xx in 5 minutes, twice in a row (expired tokens after a client release, a broken client, or someone probing): see the runbook"),
            "AWS/ApiGateway",
            "4xx",
            Some(("ApiId", r#ref(HTTP_API))),
            "Sum",
            HTTP_4XX_SURGE,
            2,
        )),
    );
    t.resource(
        "HttpApi5xxAlarm",
        Resource::new(alarm(
            format!("{}-5xx", n.api),
            "The HTTP API answered 5xx".into(),
            "AWS/ApiGateway",
            "5xx",
            Some(("ApiId", r#ref(HTTP_API))),
            "Sum",
            5.0,
            1,
        )),
    );
    t.resource(
        "Dashboard",
        Resource::new(Dashboard {
            dashboard_name: n.dashboard.clone(),
            dashboard_body: sub(dashboard_body(n)),
            tags: None,
        }),
    );
}

/// The dashboard JSON, as a `Fn::Sub` string (`${AWS::Region}`, `${HttpApi}`).
pub(super) fn dashboard_body(n: &Names) -> String {
    use serde_json::json;
    let region = "${AWS::Region}";
    let fns = n.functions();
    let per_fn = |metric: &str, stat: &str| -> Vec<serde_json::Value> {
        fns.iter()
            .map(|f| json!(["AWS/Lambda", metric, "FunctionName", f, {"stat": stat, "label": format!("{f} {stat}")}]))
            .collect()
    };
    let per_table = |metric: &str| -> Vec<serde_json::Value> {
        [&n.sessions_table, &n.user_profiles_table]
            .iter()
            .map(|tb| json!(["AWS/DynamoDB", metric, "TableName", tb, {"stat": "Sum"}]))
            .collect()
    };
    let widget = |x: i64, y: i64, title: &str, metrics: Vec<serde_json::Value>| {
        json!({
            "type": "metric", "x": x, "y": y, "width": 12, "height": 6,
            "properties": {"title": title, "region": region, "view": "timeSeries", "stacked": false, "period": 300, "metrics": metrics}
        })
    };
    let mut duration = per_fn("Duration", "p50");
    duration.extend(per_fn("Duration", "p99"));
    // DynamoDB publishes ThrottledRequests and SystemErrors per TableName
    // *and* Operation, so a TableName-only metric is empty; the throttle
    // events exist per table, and a SEARCH sums system errors over the
    // operations (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/metrics-dimensions.html,
    // https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/using-search-expressions.html).
    let mut table_throttles = per_table("ReadThrottleEvents");
    table_throttles.extend(per_table("WriteThrottleEvents"));
    for (i, tb) in [&n.sessions_table, &n.user_profiles_table]
        .iter()
        .enumerate()
    {
        table_throttles.push(json!([{
            "expression": format!(
                "SUM(SEARCH('{{AWS/DynamoDB,Operation,TableName}} MetricName=\"SystemErrors\" TableName=\"{tb}\"', 'Sum', 300))"
            ),
            "label": format!("{tb} SystemErrors"),
            "id": format!("systemErrors{i}"),
        }]));
    }
    let api = |metric: &str, stat: &str| json!(["AWS/ApiGateway", metric, "ApiId", "${HttpApi}", {"stat": stat}]);
    let body = json!({
        "widgets": [
            widget(0, 0, "Lambda invocations", per_fn("Invocations", "Sum")),
            widget(12, 0, "Lambda errors", per_fn("Errors", "Sum")),
            widget(0, 6, "Lambda duration p50 / p99 (ms)", duration),
            widget(12, 6, "Lambda throttles", per_fn("Throttles", "Sum")),
            widget(0, 12, "DynamoDB consumed read units", per_table("ConsumedReadCapacityUnits")),
            widget(12, 12, "DynamoDB consumed write units", per_table("ConsumedWriteCapacityUnits")),
            widget(0, 18, "DynamoDB throttle events and system errors", table_throttles),
            widget(12, 18, "HTTP API 4xx / 5xx", vec![api("4xx", "Sum"), api("5xx", "Sum")]),
            widget(0, 24, "HTTP API latency (ms)", vec![api("Latency", "p50"), api("Latency", "p99")]),
        ]
    });
    body.to_string()
}
