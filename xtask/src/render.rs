//! The plan of a deploy and the report of `diff`, as lines of styled text:
//! IAM statement changes first (a plain-text table), then resources, the
//! rest of the template, parameters, code and data risks.
//!
//! Long: the plan and diff printouts share the table and the line styles,
//! and their tests (with recorded plans) sit beside them.

use cfn_plan::change_set::ChangeAction;
use cfn_plan::diff_report::DiffReport;
use cfn_plan::iam::{self, IamChange, Sign};
use cfn_plan::params::ParamChange;
use cfn_plan::template_diff::{PathChange, ResourceAction};
use cfn_plan::Plan;
use deploy::report::{Style, Text};
use deploy::text::short;
use serde_json::Value;

const IAM_HEADERS: [&str; 6] = ["", "Resource", "Effect", "Action", "Principal", "Condition"];

fn plain(s: impl Into<String>) -> Text {
    Text::plain(s)
}

fn styled(style: Style, s: impl Into<String>) -> Text {
    Text::styled(style, s)
}

fn heading(s: impl Into<String>) -> Text {
    styled(Style::Strong, s)
}

/// `t` after `n` spaces.
fn indented(n: usize, t: Text) -> Text {
    let mut out = plain(" ".repeat(n));
    out.0.extend(t.0);
    out
}

/// The IAM table (added first, then by resource), the first column styled.
fn iam_table(changes: &[IamChange]) -> Vec<Text> {
    let mut sorted: Vec<&IamChange> = changes.iter().collect();
    sorted.sort_by_key(|c| (c.sign == Sign::Removed, c.stmt.source.clone()));
    let rows: Vec<Vec<String>> = sorted
        .iter()
        .map(|c| {
            vec![
                c.label().to_string(),
                c.stmt.resources.join("\n"),
                c.stmt.effect.clone(),
                c.stmt.actions.join("\n"),
                c.stmt.principals.join("\n"),
                c.stmt.conditions.join("\n"),
            ]
        })
        .collect();
    let labels = [
        ("+ (widening)", Style::Bad),
        ("- (widening)", Style::Bad),
        ("+", Style::Good),
        ("-", Style::Caution),
    ];
    table(&IAM_HEADERS, &rows, terminal_width())
        .into_iter()
        .map(|line| {
            let cell = line.strip_prefix("| ").unwrap_or("");
            match labels
                .iter()
                .find(|(l, _)| cell.starts_with(&format!("{l} ")))
            {
                Some((label, style)) => plain("| ")
                    .then(*style, *label)
                    .then(Style::Plain, &cell[label.len()..]),
                None => plain(line),
            }
        })
        .collect()
}

fn iam_section(out: &mut Vec<Text>, changes: &[IamChange], widening_title: &str, title: &str) {
    if changes.is_empty() {
        return;
    }
    out.push(plain(""));
    out.push(if iam::widens(changes) {
        styled(Style::Bad, widening_title)
    } else {
        heading(title)
    });
    out.extend(iam_table(changes));
}

/// `replace: KeySchema changes` → `REPLACE: KeySchema changes`.
fn shout(r: &str) -> String {
    match r.split_once(':') {
        Some((head, rest)) => format!("{}:{rest}", head.to_uppercase()),
        None => r.to_uppercase(),
    }
}

fn old_value(p: &ParamChange) -> String {
    p.old
        .as_deref()
        .map(|o| format!("{o:?}"))
        .unwrap_or_else(|| "(none)".into())
}

/// A first deploy's IAM, condensed: per principal, a line per statement
/// with its actions (grouped by service) on its resources.
fn iam_summary(out: &mut Vec<Text>, plan: &Plan) {
    let allows: Vec<&iam::Stmt> = plan
        .statements
        .iter()
        .filter(|s| s.effect == "Allow")
        .collect();
    if allows.is_empty() {
        return;
    }
    out.push(plain(""));
    out.push(heading(format!(
        "IAM: who may do what ({} statements; --details shows each, conditions included)",
        plan.statements.len()
    )));
    let width = terminal_width().max(60);
    let mut by_principal: std::collections::BTreeMap<String, Vec<&iam::Stmt>> = Default::default();
    for s in allows {
        by_principal
            .entry(s.principals.join(", "))
            .or_default()
            .push(s);
    }
    for (principal, stmts) in by_principal {
        out.push(plain(format!("  {}", principal_name(&principal))));
        // One line per resource set: the actions of every statement on it.
        let mut lines: Vec<(Vec<String>, Vec<String>, bool)> = Vec::new();
        for st in stmts {
            let resources: Vec<String> = st.resources.iter().map(|r| resource_name(r)).collect();
            match lines.iter_mut().find(|(r, _, _)| *r == resources) {
                Some((_, actions, conditional)) => {
                    actions.extend(st.actions.iter().cloned());
                    *conditional |= !st.conditions.is_empty();
                }
                None => lines.push((resources, st.actions.clone(), !st.conditions.is_empty())),
            }
        }
        for (resources, mut actions, conditional) in lines {
            actions.sort();
            actions.dedup();
            let line = format!(
                "    {} on {}{}",
                actions_by_service(&actions),
                resources.join(", "),
                if conditional {
                    " (with conditions)"
                } else {
                    ""
                }
            );
            out.push(plain(short(&line, width)));
        }
    }
}

/// `AWS:${SessionPersistenceRole}` → `SessionPersistenceRole`;
/// `Service:lambda.amazonaws.com` stays.
fn principal_name(p: &str) -> String {
    p.split(", ")
        .map(|one| {
            let one = one.strip_prefix("AWS:").unwrap_or(one);
            resource_name(one)
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// `${SessionsTable.Arn}` → `SessionsTable`; `${SessionsTable.Arn}/index/*`
/// → `SessionsTable/index/*`; this account's root → `the account`; an ARN
/// in this partition, region and account → its resource part.
fn resource_name(r: &str) -> String {
    if r == "arn:${AWS::Partition}:iam::${AWS::AccountId}:root" {
        return "the account (root)".into();
    }
    if let Some(rest) = r.strip_prefix("arn:${AWS::Partition}:") {
        // service:region:account:resource
        if let Some((_service, rest)) = rest.split_once(':') {
            let rest = rest.strip_prefix("${AWS::Region}").unwrap_or(rest);
            if let Some(resource) = rest
                .strip_prefix(':')
                .and_then(|r| r.strip_prefix("${AWS::AccountId}:"))
            {
                return resource.to_string();
            }
        }
    }
    match r.strip_prefix("${").and_then(|x| x.split_once('}')) {
        Some((inner, rest)) => {
            let id = inner.split('.').next().unwrap_or(inner);
            format!("{id}{rest}")
        }
        None => r.to_string(),
    }
}

/// `dynamodb:GetItem, dynamodb:PutItem, kms:Decrypt` →
/// `dynamodb:{GetItem,PutItem} kms:Decrypt`; more than six of one service
/// are counted (the full list is behind `--details`).
fn actions_by_service(actions: &[String]) -> String {
    let mut by: Vec<(&str, Vec<&str>)> = Vec::new();
    for a in actions {
        let (svc, op) = a.split_once(':').unwrap_or(("", a));
        match by.iter_mut().find(|(s, _)| *s == svc) {
            Some((_, ops)) => ops.push(op),
            None => by.push((svc, vec![op])),
        }
    }
    by.iter()
        .map(|(svc, ops)| match ops.as_slice() {
            [one] if svc.is_empty() => one.to_string(),
            [one] => format!("{svc}:{one}"),
            many if many.len() > 6 => format!("{svc}: {} actions", many.len()),
            many => format!("{svc}:{{{}}}", many.join(",")),
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The plan: IAM first, then resources, parameters, data risks. A new
/// stack's IAM is a summary unless `details`; an update shows every
/// statement that changes.
pub fn plan(plan: &Plan, details: bool) -> Vec<Text> {
    let name = plan.change_set.change_set_name.as_deref().unwrap_or("");
    let mut out = vec![heading(format!(
        "Plan for {} (change set {name}{})",
        plan.stack_name,
        if plan.new_stack { ", a new stack" } else { "" }
    ))];
    if plan.new_stack && !details {
        iam_summary(&mut out, plan);
    } else {
        iam_section(
            &mut out,
            &plan.iam,
            "IAM statement changes (widening: needs approval)",
            "IAM statement changes",
        );
    }
    out.push(plain(""));
    out.push(heading("Resources"));
    let mut groups: [(&str, Vec<Text>); 4] = [
        ("added", vec![]),
        ("modified", vec![]),
        ("removed", vec![]),
        ("replaced", vec![]),
    ];
    // A new stack's additions, one line per type.
    let mut added_by_type: Vec<(String, Vec<String>)> = Vec::new();
    for rc in plan.resource_changes() {
        let scope = if rc.scope.is_empty() {
            String::new()
        } else {
            let targets = rc.targets();
            if targets.is_empty() {
                format!(" ({})", rc.scope.join(", "))
            } else {
                format!(" ({})", targets.join(", "))
            }
        };
        let base = format!("{} {}{scope}", rc.resource_type, rc.logical_resource_id);
        match (rc.action, plan.replaced(rc)) {
            (ChangeAction::Add, _) if plan.new_stack && !details => {
                match added_by_type
                    .iter_mut()
                    .find(|(t, _)| *t == rc.resource_type)
                {
                    Some((_, ids)) => ids.push(rc.logical_resource_id.clone()),
                    None => added_by_type.push((
                        rc.resource_type.clone(),
                        vec![rc.logical_resource_id.clone()],
                    )),
                }
            }
            (ChangeAction::Add, _) => groups[0].1.push(styled(Style::Good, format!("[+] {base}"))),
            (ChangeAction::Remove, _) => {
                groups[2].1.push(styled(Style::Bad, format!("[-] {base}")))
            }
            (_, Some(r)) => groups[3]
                .1
                .push(styled(Style::Bad, format!("[~] {base}  {}", shout(&r)))),
            (_, None) => groups[1]
                .1
                .push(styled(Style::Caution, format!("[~] {base}"))),
        }
    }
    let added: usize = added_by_type.iter().map(|(_, ids)| ids.len()).sum();
    for (ty, ids) in added_by_type {
        groups[0].1.push(styled(
            Style::Good,
            if ids.len() == 1 {
                format!("[+] {ty} {}", ids[0])
            } else {
                format!("[+] {ty} ×{}: {}", ids.len(), ids.join(", "))
            },
        ));
    }
    if groups.iter().all(|(_, v)| v.is_empty()) {
        if plan.template_changes.is_empty() {
            out.push(plain("  (no resource changes)"));
        } else {
            out.push(plain(
                "  (the change set lists no resource changes; from comparing the templates:)",
            ));
            for r in &plan.template_changes {
                let base = format!("{} {}", r.resource_type, r.logical_id);
                let l = match r.action {
                    ResourceAction::Added => styled(Style::Good, format!("[+] {base}")),
                    ResourceAction::Removed => styled(Style::Bad, format!("[-] {base}")),
                    ResourceAction::Modified if !r.replaced_by.is_empty() => styled(
                        Style::Bad,
                        format!("[~] {base}  REPLACE: {} changes", r.replaced_by.join(", ")),
                    ),
                    ResourceAction::Modified => {
                        let mut props: Vec<&str> = r
                            .changes
                            .iter()
                            .map(|c| {
                                c.path
                                    .trim_start_matches(".Properties.")
                                    .trim_start_matches('.')
                                    .split(['.', '['])
                                    .next()
                                    .unwrap_or("")
                            })
                            .collect();
                        props.dedup();
                        styled(Style::Caution, format!("[~] {base} ({})", props.join(", ")))
                    }
                };
                out.push(indented(4, l));
            }
        }
    }
    for (label, lines) in groups {
        if !lines.is_empty() {
            let n = if label == "added" && added > 0 {
                added
            } else {
                lines.len()
            };
            out.push(plain(format!("  {label} ({n}):")));
            for l in lines {
                out.push(indented(4, l));
            }
        }
    }
    if plan.new_stack && !plan.left_out.is_empty() {
        let mut by_condition: std::collections::BTreeMap<&str, Vec<&str>> = Default::default();
        for (id, (_, c)) in &plan.left_out {
            by_condition.entry(c).or_default().push(id);
        }
        for (c, ids) in by_condition {
            out.push(plain(format!(
                "  not created ({c} is false with these parameters): {}",
                ids.join(", ")
            )));
        }
    }
    if !plan.params.is_empty() {
        out.push(plain(""));
        out.push(heading("Parameters"));
        for p in &plan.params {
            out.push(plain(if plan.new_stack {
                format!("  {} = {:?}", p.name, p.new)
            } else {
                format!("  [~] {}: {} → {:?}", p.name, old_value(p), p.new)
            }));
        }
    }
    if !plan.risks.is_empty() {
        out.push(plain(""));
        out.push(styled(Style::Bad, "Data safety"));
        for r in &plan.risks {
            out.push(styled(Style::Bad, format!("  ! would {r}")));
        }
    }
    out
}

fn show(v: &Option<Value>) -> String {
    match v {
        None => "(absent)".into(),
        Some(v) => short(&serde_json::to_string(v).unwrap_or_default(), 100),
    }
}

fn path_change(c: &PathChange) -> Text {
    match (&c.old, &c.new) {
        (None, n) => styled(Style::Good, format!("+ {}", show(n))),
        (o, None) => styled(Style::Bad, format!("- {}", show(o))),
        (o, n) => styled(Style::Bad, show(o))
            .then(Style::Plain, " → ")
            .then(Style::Good, show(n)),
    }
}

/// What `diff` found: IAM first, then resources with property paths, the
/// rest of the template, parameters and code.
pub fn diff(rep: &DiffReport) -> Vec<Text> {
    let mut out = vec![heading(format!(
        "Stack {}{}",
        rep.stack,
        if rep.exists {
            ""
        } else {
            " (not deployed yet: everything is new)"
        }
    ))];
    iam_section(
        &mut out,
        &rep.iam,
        "IAM Statement Changes (widening marked)",
        "IAM Statement Changes",
    );
    if !rep.resources.is_empty() {
        out.push(plain(""));
        out.push(heading("Resources"));
    }
    for r in &rep.resources {
        let head = format!("{} {}", r.resource_type, r.logical_id);
        match r.action {
            ResourceAction::Added => out.push(styled(Style::Good, format!("[+] {head}"))),
            ResourceAction::Removed => {
                let mut text = format!("[-] {head}");
                if cfn_plan::replacement::DATA_TYPES.contains(&r.resource_type.as_str()) {
                    text.push_str(
                        "  (removed from the stack: deploy refuses without --allow-replacement)",
                    );
                }
                out.push(styled(Style::Bad, text));
            }
            ResourceAction::Modified => {
                out.push(if r.replaced_by.is_empty() {
                    styled(Style::Caution, format!("[~] {head}"))
                } else {
                    styled(
                        Style::Bad,
                        format!("[~] {head}  REPLACE ({} changes)", r.replaced_by.join(", ")),
                    )
                });
                let n = r.changes.len();
                for (i, c) in r.changes.iter().enumerate() {
                    let branch = if i + 1 == n { "└─" } else { "├─" };
                    let replaces = r
                        .replaced_by
                        .iter()
                        .any(|p| c.path.starts_with(&format!(".Properties.{p}")));
                    let mut line =
                        plain(format!("    {branch} {}: ", c.path.trim_start_matches('.')));
                    line.0.extend(path_change(c).0);
                    if replaces {
                        line = line.then(Style::Bad, " (requires replacement)");
                    }
                    out.push(line);
                }
            }
        }
    }
    if !rep.other.is_empty() {
        out.push(plain(""));
        out.push(heading("Other template changes"));
        for c in &rep.other {
            out.push(plain(format!(
                "  [~] {}: {} → {}",
                c.path,
                show(&c.old),
                show(&c.new)
            )));
        }
    }
    let params = |title: &str, list: &[ParamChange], out: &mut Vec<Text>| {
        out.push(plain(""));
        out.push(heading(title));
        for p in list {
            out.push(plain(format!(
                "  [~] {}: {} → {:?}",
                p.name,
                old_value(p),
                p.new
            )));
        }
    };
    if !rep.params.is_empty() {
        params("Parameters", &rep.params, &mut out);
    }
    if !rep.code.is_empty() || rep.code_note.is_some() {
        params("Code", &rep.code, &mut out);
        if let Some(n) = &rep.code_note {
            out.push(plain(format!("  {n}")));
        }
    }
    for m in &rep.moved_aliases {
        out.push(plain(format!(
            "live: {} runs version {}, the stack published {} (a rollback or a hotswap moved it; a deploy that changes nothing leaves it; `cargo xtask rollback --function NAME --to {}` puts it back)",
            m.function, m.live, m.stack, m.stack
        )));
    }
    out.push(plain(""));
    out.push(if rep.has_differences() {
        plain(format!(
            "{} difference(s): {} IAM, {} resource(s), {} other, {} parameter(s), {} code",
            rep.iam.len()
                + rep.resources.len()
                + rep.other.len()
                + rep.params.len()
                + rep.code.len(),
            rep.iam.len(),
            rep.resources.len(),
            rep.other.len(),
            rep.params.len(),
            rep.code.len()
        ))
    } else {
        styled(Style::Good, "no differences")
    });
    out
}

/// `verify`'s checks, one row each in aligned columns: outcome, check, detail.
pub fn verify_rows(checks: &[deploy::verify::check::Check]) -> Vec<String> {
    let outcome = checks
        .iter()
        .map(|c| c.outcome.label().len())
        .max()
        .unwrap_or(0);
    let name = checks
        .iter()
        .map(|c| c.name.chars().count())
        .max()
        .unwrap_or(0);
    checks
        .iter()
        .map(|c| {
            format!(
                "{:<outcome$}  {:<name$}  {}",
                c.outcome.label(),
                c.name,
                c.detail
            )
            .trim_end()
            .to_string()
        })
        .collect()
}

/// Table cells wrap at this many characters at most.
const CELL_WIDTH: usize = 72;
/// ... and at least this many, however narrow the terminal.
const MIN_CELL_WIDTH: usize = 12;

/// The terminal's width when the output goes to one, else no limit (a CI
/// log or a file keeps the widest table).
fn terminal_width() -> usize {
    terminal_size::terminal_size_of(std::io::stdout())
        .or_else(|| terminal_size::terminal_size_of(std::io::stderr()))
        .map(|(w, _)| usize::from(w.0))
        .unwrap_or(usize::MAX)
}

/// A plain-text table (`|` and `-`), readable in a terminal and in a CI log,
/// its cells wrapped narrower until it fits `max_width` columns (down to
/// [`MIN_CELL_WIDTH`]).
pub fn table(headers: &[&str], rows: &[Vec<String>], max_width: usize) -> Vec<String> {
    let cols = headers.len();
    let mut cap = CELL_WIDTH;
    let (rows, width) = loop {
        let wrapped: Vec<Vec<String>> = rows
            .iter()
            .map(|r| r.iter().map(|c| wrap(c, cap)).collect())
            .collect();
        let mut width: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
        for r in &wrapped {
            for (i, cell) in r.iter().enumerate().take(cols) {
                for l in cell.lines() {
                    width[i] = width[i].max(l.chars().count());
                }
            }
        }
        let total = width.iter().map(|w| w + 3).sum::<usize>() + 1;
        if total <= max_width || cap <= MIN_CELL_WIDTH {
            break (wrapped, width);
        }
        cap -= 4;
    };
    let sep = format!(
        "+{}+",
        width
            .iter()
            .map(|w| "-".repeat(w + 2))
            .collect::<Vec<_>>()
            .join("+")
    );
    let fmt_row = |cells: &[String]| -> Vec<String> {
        let height = cells
            .iter()
            .map(|c| c.lines().count().max(1))
            .max()
            .unwrap_or(1);
        (0..height)
            .map(|li| {
                let parts: Vec<String> = (0..cols)
                    .map(|i| {
                        let l = cells.get(i).and_then(|c| c.lines().nth(li)).unwrap_or("");
                        format!(" {l}{} ", " ".repeat(width[i] - l.chars().count()))
                    })
                    .collect();
                format!("|{}|", parts.join("|"))
            })
            .collect()
    };
    let mut out = vec![sep.clone()];
    out.extend(fmt_row(
        &headers.iter().map(|h| h.to_string()).collect::<Vec<_>>(),
    ));
    out.push(sep.clone());
    for r in &rows {
        out.extend(fmt_row(r));
    }
    out.push(sep);
    out
}

/// Breaks lines longer than `width` characters.
fn wrap(text: &str, width: usize) -> String {
    let mut out = vec![];
    for line in text.lines() {
        let chars: Vec<char> = line.chars().collect();
        if chars.len() <= width {
            out.push(line.to_string());
            continue;
        }
        for (i, chunk) in chars.chunks(width).enumerate() {
            let s: String = chunk.iter().collect();
            out.push(if i == 0 { s } else { format!("  {s}") });
        }
    }
    out.join("\n")
}

#[cfg(test)]
mod tests {
    use cfn_plan::{ChangeSet, Plan};
    use serde_json::{json, Value};
    use std::collections::BTreeMap;
    use testkit::templates::{params, template};

    fn text(lines: Vec<deploy::report::Text>) -> String {
        lines.iter().map(|l| l.plain_text() + "\n").collect()
    }

    #[test]
    fn plan_prints_iam_first_then_resources_grouped() {
        let (old, new) = (template(), testkit::templates::widened_and_rekeyed());
        let key = |v: &str| BTreeMap::from([("SessionPersistenceCodeKey".into(), v.into())]);
        let cs: ChangeSet =
            testkit::fixture::json("cfn-plan/tests/fixtures/changeset-table-replacement.json");
        let t = text(super::plan(
            &Plan::new("S", cs, &old, &new, &key("code/a.zip"), &key("code/b.zip")),
            false,
        ));
        let iam = t.find("IAM statement changes (widening").expect(&t);
        assert!(iam < t.find("Resources").unwrap(), "{t}");
        assert!(
            t.contains("+ (widening)") && t.contains("dynamodb:Scan"),
            "{t}"
        );
        assert!(
            t.contains("[~] AWS::DynamoDB::Table SessionsTable") && t.contains("REPLACE"),
            "{t}"
        );
        assert!(
            t.contains("[~] AWS::Lambda::Function SessionPersistenceFunction (Code)"),
            "{t}"
        );
        assert!(
            t.contains("SessionPersistenceCodeKey: \"code/a.zip\" → \"code/b.zip\""),
            "{t}"
        );
        assert!(t.contains("would replace SessionsTable"), "{t}");
    }

    /// The change set an emulator gives a new stack: every resource of the
    /// template as added, those whose condition is false too (moto does
    /// not evaluate conditions).
    fn creating(template: &Value) -> ChangeSet {
        let changes: Vec<Value> = template["Resources"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(id, r)| json!({"Type": "Resource", "ResourceChange": {"Action": "Add", "LogicalResourceId": id, "ResourceType": r["Type"]}}))
            .collect();
        serde_json::from_value(json!({"ChangeSetName": "c", "Changes": changes})).unwrap()
    }

    /// Rows on a 120-column terminal (a longer line wraps).
    fn rows_at_120(t: &str) -> usize {
        t.lines()
            .map(|l| l.chars().count().div_ceil(120).max(1))
            .sum()
    }

    fn first_deploy(extra: &[(&str, &str)]) -> String {
        let t = template();
        let mut p = params("code/a.zip", "us-east-1_A");
        for (k, v) in extra {
            p.insert(k.to_string(), v.to_string());
        }
        let plan = Plan::new("S", creating(&t), &json!({}), &t, &BTreeMap::new(), &p);
        text(super::plan(&plan, false))
    }

    const OPTIONAL: [&str; 6] = [
        "AlarmEmailSubscription",
        "BackupRole",
        "BackupVault",
        "BackupPlan",
        "BackupSelection",
        "MonthlyBudget",
    ];

    #[test]
    fn a_first_deploy_shows_only_what_it_creates_in_a_page() {
        let t = first_deploy(&[]);
        for id in OPTIONAL {
            assert!(
                !t.lines()
                    .any(|l| l.contains("[+]") && l.ends_with(&format!(" {id}"))),
                "{id} is listed as added:\n{t}"
            );
        }
        assert!(t.contains("not created (BackupEnabled is false"), "{t}");
        assert!(
            !t.contains("backup.amazonaws.com") && !t.contains("BackupRole\n"),
            "{t}"
        );
        assert!(t.contains("IAM: who may do what"), "{t}");
        assert!(t.contains("UserPoolId = \"us-east-1_A\""), "{t}");
        assert!(!t.contains("(none) →"), "{t}");
        let rows = rows_at_120(&t);
        eprintln!("{t}");
        assert!(rows <= 60, "{rows} rows at 120 columns:\n{t}");
    }

    #[test]
    fn with_backups_on_the_first_deploy_adds_them_and_their_role() {
        let t = first_deploy(&[("BackupRetentionDays", "35")]);
        for id in ["BackupRole", "BackupVault", "BackupPlan", "BackupSelection"] {
            assert!(
                t.lines()
                    .any(|l| l.contains("[+]") && l.ends_with(&format!(" {id}"))),
                "{id} is not listed as added:\n{t}"
            );
        }
        assert!(t.contains("backup.amazonaws.com"), "{t}");
        assert!(!t.contains("not created (BackupEnabled"), "{t}");
    }

    #[test]
    fn an_update_that_only_changes_code_shows_no_iam_section() {
        let t = template();
        let plan = Plan::new(
            "S",
            ChangeSet::default(),
            &t,
            &t,
            &params("code/a.zip", "us-east-1_A"),
            &params("code/b.zip", "us-east-1_A"),
        );
        let text = text(super::plan(&plan, false));
        assert!(!text.contains("IAM"), "{text}");
        assert!(!text.contains("not created"), "{text}");
        assert!(
            text.contains("[~] SessionPersistenceCodeKey: \"code/a.zip\" → \"code/b.zip\"")
                && !text.contains("UserPoolId"),
            "only the changed parameter: {text}"
        );
    }

    #[test]
    fn without_resource_changes_in_the_change_set_the_template_comparison_is_shown() {
        let old = template();
        let mut new = old.clone();
        new["Resources"]["SessionPersistenceFunction"]["Properties"]["MemorySize"] = json!(512);
        let t = text(super::plan(
            &Plan::new(
                "S",
                ChangeSet::default(),
                &old,
                &new,
                &BTreeMap::new(),
                &BTreeMap::new(),
            ),
            false,
        ));
        assert!(t.contains("from comparing the templates"), "{t}");
        assert!(
            t.contains("[~] AWS::Lambda::Function SessionPersistenceFunction (MemorySize)"),
            "{t}"
        );
        let same = text(super::plan(
            &Plan::new(
                "S",
                ChangeSet::default(),
                &old,
                &old,
                &BTreeMap::new(),
                &BTreeMap::new(),
            ),
            false,
        ));
        assert!(same.contains("(no resource changes)"), "{same}");
    }

    #[test]
    fn diff_shows_paths_old_new_replacement_and_iam_first() {
        let (old, new) = (template(), testkit::templates::many_changes());
        let old_p = params("code/a.zip", "us-east-1_A");
        let new_p = params("code/b.zip", "us-east-1_B");
        let rep = cfn_plan::diff_report::report("S", &old, &new, &old_p, &new_p, true);
        let s = text(super::diff(&rep));
        assert!(
            s.contains("[~] AWS::DynamoDB::Table SessionsTable  REPLACE (KeySchema changes)"),
            "{s}"
        );
        assert!(s.contains("Properties.KeySchema[0].AttributeName: \"sessionId\" → \"userId\" (requires replacement)"), "{s}");
        assert!(
            s.contains(r#"Properties.MemorySize: {"Ref":"SessionPersistenceMemorySize"} → 512"#),
            "{s}"
        );
        assert!(
            s.contains(
                "Properties.Policies[0].PolicyDocument.Statement[0].Action[+]: + \"dynamodb:Scan\""
            ),
            "{s}"
        );
        assert!(
            s.contains("[-] AWS::CloudWatch::Dashboard Dashboard"),
            "{s}"
        );
        assert!(
            s.contains("UserPoolId: \"us-east-1_A\" → \"us-east-1_B\""),
            "{s}"
        );
        assert!(
            s.contains("SessionPersistenceCodeKey: \"code/a.zip\" → \"code/b.zip\""),
            "{s}"
        );
        let pos = |n: &str| s.find(n).unwrap();
        assert!(
            pos("IAM Statement Changes") < pos("Resources")
                && pos("Resources") < pos("Parameters")
                && pos("Parameters") < pos("Code"),
            "{s}"
        );
        assert!(
            s.contains("dynamodb:Scan") && s.contains("+ (widening)"),
            "{s}"
        );
        let empty = BTreeMap::new();
        let none = cfn_plan::diff_report::report("S", &old, &old, &empty, &empty, true);
        assert!(text(super::diff(&none)).contains("no differences"));
        let fresh = cfn_plan::diff_report::report(
            "S",
            &serde_json::Value::Null,
            &old,
            &empty,
            &empty,
            false,
        );
        let f = text(super::diff(&fresh));
        assert!(
            f.contains("[+] AWS::DynamoDB::Table SessionsTable") && f.contains("not deployed yet"),
            "{f}"
        );
    }

    #[test]
    fn wide_tables_wrap_to_the_terminal_width() {
        let long = "arn:aws:logs:us-east-1:111122223333:log-group:/aws/lambda/voice-learning-context-manager:log-stream:*";
        let rows = vec![vec![
            "+ (widening)".to_string(),
            long.to_string(),
            "Allow".to_string(),
            "logs:CreateLogStream\nlogs:PutLogEvents".to_string(),
            "AWS:${ContextManagerRole}".to_string(),
            "StringEquals kms:ViaService: dynamodb.${AWS::Region}.amazonaws.com".to_string(),
        ]];
        let wide = super::table(&super::IAM_HEADERS, &rows, usize::MAX);
        assert!(wide.iter().any(|l| l.chars().count() > 120), "{wide:#?}");
        let narrow = super::table(&super::IAM_HEADERS, &rows, 120);
        for l in &narrow {
            assert!(l.chars().count() <= 120, "{l}");
        }
        // Nothing is lost: every character of the long cell is still there.
        let joined: String = narrow
            .iter()
            .filter_map(|l| l.split('|').nth(2))
            .map(|c| c.trim().trim_start_matches("  "))
            .collect();
        assert!(
            joined.replace(' ', "").contains(&long.replace(' ', "")),
            "{narrow:#?}"
        );
    }
}
