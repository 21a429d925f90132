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

/// The plan: IAM first, then resources, parameters, data risks.
pub fn plan(plan: &Plan) -> Vec<Text> {
    let name = plan.change_set.change_set_name.as_deref().unwrap_or("");
    let mut out = vec![heading(format!(
        "Plan for {} (change set {name})",
        plan.stack_name
    ))];
    iam_section(
        &mut out,
        &plan.iam,
        "IAM statement changes (widening: needs approval)",
        "IAM statement changes",
    );
    out.push(plain(""));
    out.push(heading("Resources"));
    let mut groups: [(&str, Vec<Text>); 4] = [
        ("added", vec![]),
        ("modified", vec![]),
        ("removed", vec![]),
        ("replaced", vec![]),
    ];
    for rc in plan.change_set.resource_changes() {
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
            out.push(plain(format!("  {label} ({}):", lines.len())));
            for l in lines {
                out.push(indented(4, l));
            }
        }
    }
    if !plan.params.is_empty() {
        out.push(plain(""));
        out.push(heading("Parameters"));
        for p in &plan.params {
            out.push(plain(format!(
                "  [~] {}: {} → {:?}",
                p.name,
                old_value(p),
                p.new
            )));
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
    use cfn_plan::params::param_changes;
    use cfn_plan::{ChangeSet, Plan};
    use serde_json::json;
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
        let params = param_changes(&key("code/a.zip"), &key("code/b.zip"));
        let t = text(super::plan(&Plan::new("S", cs, &old, &new, params)));
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

    #[test]
    fn without_resource_changes_in_the_change_set_the_template_comparison_is_shown() {
        let old = template();
        let mut new = old.clone();
        new["Resources"]["SessionPersistenceFunction"]["Properties"]["MemorySize"] = json!(512);
        let t = text(super::plan(&Plan::new(
            "S",
            ChangeSet::default(),
            &old,
            &new,
            vec![],
        )));
        assert!(t.contains("from comparing the templates"), "{t}");
        assert!(
            t.contains("[~] AWS::Lambda::Function SessionPersistenceFunction (MemorySize)"),
            "{t}"
        );
        let same = text(super::plan(&Plan::new(
            "S",
            ChangeSet::default(),
            &old,
            &old,
            vec![],
        )));
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
        assert!(s.contains("Properties.MemorySize: 256 → 512"), "{s}");
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
