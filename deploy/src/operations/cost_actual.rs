//! `cost --actual`: what the stage really cost in a month, from Cost
//! Explorer's GetCostAndUsage, filtered on the stack's cost-allocation tags
//! (`Project`, `Stage`; see [`crate::tags`]) and grouped by service.
//!
//! From the Cost Explorer API reference
//! (<https://docs.aws.amazon.com/aws-cost-management/latest/APIReference/API_GetCostAndUsage.html>):
//! the end date is exclusive; the endpoint is in us-east-1 whatever the
//! stack's region; each request is charged ($0.01). Only spend on resources
//! carrying tags activated as cost allocation tags appears, from the time
//! they were activated, and the data lag up to a day
//! (<https://docs.aws.amazon.com/awsaccountbilling/latest/aboutv2/activating-tags.html>).

use crate::aws::{self, explain, Aws};
use crate::error::{failed, Result};
use crate::options::AwsOptions;
use aws_sdk_costexplorer::types::{
    DateInterval, Expression, Granularity, GroupDefinition, GroupDefinitionType, MatchOption,
    TagValues,
};
use serde::Serialize;

#[derive(Debug, Clone, Default)]
pub struct ActualOptions {
    pub aws: AwsOptions,
    pub stage: Option<String>,
    /// `YYYY-MM`; `None`: the current month so far.
    pub month: Option<String>,
}

/// One service's spend.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ServiceCost {
    pub service: String,
    pub usd: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Actual {
    /// `YYYY-MM-DD`, inclusive.
    pub start: String,
    /// `YYYY-MM-DD`, exclusive.
    pub end: String,
    /// The tags the spend was filtered on.
    pub tags: Vec<(String, String)>,
    /// Highest first.
    pub services: Vec<ServiceCost>,
    pub total_usd: f64,
    /// Cost Explorer still estimates it (the month is not closed).
    pub estimated: bool,
}

/// (year, month) of `YYYY-MM`.
pub fn parse_month(s: &str) -> Result<(i32, u32)> {
    let bad = || failed!("--month `{s}` is not a month: give it as YYYY-MM, e.g. --month 2026-10.");
    let (y, m) = s.trim().split_once('-').ok_or_else(bad)?;
    let y: i32 = y.parse().map_err(|_| bad())?;
    let m: u32 = m.parse().map_err(|_| bad())?;
    if !(2000..=2999).contains(&y) || !(1..=12).contains(&m) {
        return Err(bad());
    }
    Ok((y, m))
}

/// `[start, end)` of the month, the end cut to `today + 1` for a month in progress.
pub fn period(month: Option<(i32, u32)>, today: &str) -> (String, String) {
    use time::{Date, Month};
    let day = time::macros::format_description!("[year]-[month]-[day]");
    let today = today
        .get(..10)
        .and_then(|d| Date::parse(d, &day).ok())
        .unwrap_or(Date::MIN);
    let first = |y: i32, m: u32| {
        Month::try_from(m as u8)
            .ok()
            .and_then(|m| Date::from_calendar_date(y, m, 1).ok())
            .unwrap_or(Date::MIN)
    };
    let (y, m) = month.unwrap_or((today.year(), u32::from(u8::from(today.month()))));
    let start = first(y, m);
    let next = if m == 12 {
        first(y + 1, 1)
    } else {
        first(y, m + 1)
    };
    // A month in progress ends tomorrow (its first day after, at the latest).
    let end = match today.next_day() {
        Some(tomorrow) if (start..next).contains(&today) => tomorrow,
        _ => next,
    };
    let text = |d: Date| d.format(&day).unwrap_or_default();
    (text(start), text(end))
}

fn tag(key: &str, value: &str) -> Expression {
    Expression::builder()
        .tags(
            TagValues::builder()
                .key(key)
                .values(value)
                .match_options(MatchOption::Equals)
                .build(),
        )
        .build()
}

/// GetCostAndUsage for the stage's tags, by service.
pub async fn actual(aws: &Aws, stage: Option<&str>, month: Option<(i32, u32)>) -> Result<Actual> {
    let today = crate::logs::rfc3339_ms((crate::events::now_epoch() * 1000.0) as i64);
    let (start, end) = period(month, &today);
    if start.as_str() > today.as_str() {
        return Err(failed!(
            "--month {} has not started yet: give this month or an earlier one.",
            &start[..7]
        ));
    }
    let tags: Vec<(String, String)> = crate::tags::stack_tags(stage).into_iter().collect();
    let filter = Expression::builder()
        .set_and(Some(tags.iter().map(|(k, v)| tag(k, v)).collect()))
        .build();
    // Cost Explorer has one endpoint, in us-east-1.
    let mut conf = aws_sdk_costexplorer::config::Builder::from(&aws.conf)
        .region(aws_sdk_costexplorer::config::Region::new("us-east-1"));
    if let Some(u) = &aws.endpoint_url {
        conf = conf.endpoint_url(u);
    }
    let ce = aws_sdk_costexplorer::Client::from_conf(conf.build());
    let mut services: Vec<ServiceCost> = vec![];
    let mut estimated = false;
    let mut token: Option<String> = None;
    loop {
        let r = ce
            .get_cost_and_usage()
            .time_period(
                DateInterval::builder()
                    .start(&start)
                    .end(&end)
                    .build()
                    .map_err(|e| failed!("the Cost Explorer period: {e}"))?,
            )
            .granularity(Granularity::Monthly)
            .metrics("UnblendedCost")
            .filter(filter.clone())
            .group_by(
                GroupDefinition::builder()
                    .r#type(GroupDefinitionType::Dimension)
                    .key("SERVICE")
                    .build(),
            )
            .set_next_page_token(token.clone())
            .send()
            .await
            .map_err(|e| match e.as_service_error() {
                Some(s) if s.is_data_unavailable_exception() => failed!(
                    "Cost Explorer has no data for this account yet: enable it in the Billing console (Cost Explorer), wait up to 24 hours, and run again."
                ),
                _ => explain(e, "reading the month's cost (Cost Explorer GetCostAndUsage)", &aws.target()),
            })?;
        for period in r.results_by_time() {
            estimated |= period.estimated();
            for g in period.groups() {
                let usd = g
                    .metrics()
                    .and_then(|m| m.get("UnblendedCost"))
                    .and_then(|m| m.amount())
                    .and_then(|a| a.parse::<f64>().ok())
                    .unwrap_or_default();
                let service = g.keys().join(", ");
                match services.iter_mut().find(|s| s.service == service) {
                    Some(s) => s.usd += usd,
                    None => services.push(ServiceCost { service, usd }),
                }
            }
        }
        match r.next_page_token() {
            Some(t) if !t.is_empty() && Some(t) != token.as_deref() => token = Some(t.to_string()),
            _ => break,
        }
    }
    services.sort_by(|a, b| b.usd.total_cmp(&a.usd).then(a.service.cmp(&b.service)));
    // `+ 0.0`: an empty sum of floats is -0.0.
    let total_usd =
        (services.iter().map(|s| s.usd).sum::<f64>() * 10_000.0).round() / 10_000.0 + 0.0;
    Ok(Actual {
        start,
        end,
        tags,
        services,
        total_usd,
        estimated,
    })
}

/// `cost --actual`: connect, then [`actual`].
pub async fn run(opts: &ActualOptions) -> Result<Actual> {
    let names = crate::options::names(opts.stage.as_deref())?;
    let month = opts.month.as_deref().map(parse_month).transpose()?;
    let aws = aws::connect(&opts.aws).await?;
    actual(&aws, names.stage.as_deref(), month).await
}
