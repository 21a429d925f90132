//! `cargo xtask diff`: the local template, parameters and code hashes against
//! the deployed stack (GetTemplate and the stack's parameters), without a
//! change set. IAM statement changes first, then resources, then the rest of
//! the template, parameters and code.

use super::assets;
use super::aws;
use super::iam_diff;
use super::plan::{param_changes, ParamChange};
use super::replacement;
use super::ui::{self, Colour, Ui};
use super::DiffArgs;
use anyhow::Result;
use serde_json::{json, Value};
use stack::module::ids;
use std::collections::BTreeMap;
use std::process::ExitCode;

/// One changed leaf: a property path and its old and new values.
#[derive(Debug, Clone, PartialEq)]
pub struct PathChange {
    pub path: String,
    pub old: Option<Value>,
    pub new: Option<Value>,
}

/// The leaves that differ between `old` and `new`, with paths like
/// `.KeySchema[0].AttributeName`. Arrays of different length list the
/// elements removed (`path[-]`) and added (`path[+]`).
pub fn path_changes(
    old: Option<&Value>,
    new: Option<&Value>,
    path: &str,
    out: &mut Vec<PathChange>,
) {
    match (old, new) {
        (Some(a), Some(b)) if a == b => {}
        (Some(Value::Object(a)), Some(Value::Object(b))) => {
            let mut keys: Vec<&String> = a.keys().collect();
            for k in b.keys() {
                if !a.contains_key(k) {
                    keys.push(k);
                }
            }
            for k in keys {
                path_changes(a.get(k), b.get(k), &format!("{path}.{k}"), out);
            }
        }
        (Some(Value::Array(a)), Some(Value::Array(b))) if a.len() == b.len() => {
            for (i, (x, y)) in a.iter().zip(b).enumerate() {
                path_changes(Some(x), Some(y), &format!("{path}[{i}]"), out);
            }
        }
        (Some(Value::Array(a)), Some(Value::Array(b))) => {
            // Different lengths: list the elements removed and added.
            for x in a.iter().filter(|x| !b.contains(x)) {
                out.push(PathChange {
                    path: format!("{path}[-]"),
                    old: Some(x.clone()),
                    new: None,
                });
            }
            for y in b.iter().filter(|y| !a.contains(y)) {
                out.push(PathChange {
                    path: format!("{path}[+]"),
                    old: None,
                    new: Some(y.clone()),
                });
            }
        }
        (None, None) => {}
        (a, b) => out.push(PathChange {
            path: path.to_string(),
            old: a.cloned(),
            new: b.cloned(),
        }),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResourceAction {
    Added,
    Removed,
    Modified,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ResourceDiff {
    pub logical_id: String,
    pub resource_type: String,
    pub action: ResourceAction,
    pub changes: Vec<PathChange>,
    /// Properties that force a replacement.
    pub replaced_by: Vec<String>,
}

/// Resource differences in template order (new template first, then removals).
pub fn resource_diffs(old: &Value, new: &Value) -> Vec<ResourceDiff> {
    let empty = serde_json::Map::new();
    let old_r = old
        .get("Resources")
        .and_then(Value::as_object)
        .unwrap_or(&empty);
    let new_r = new
        .get("Resources")
        .and_then(Value::as_object)
        .unwrap_or(&empty);
    let ty = |r: &Value| {
        r.get("Type")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    let mut out = vec![];
    for (id, n) in new_r {
        match old_r.get(id) {
            None => out.push(ResourceDiff {
                logical_id: id.clone(),
                resource_type: ty(n),
                action: ResourceAction::Added,
                changes: vec![],
                replaced_by: vec![],
            }),
            Some(o) if o != n => {
                let mut changes = vec![];
                path_changes(Some(o), Some(n), "", &mut changes);
                let replaced_by = if ty(o) != ty(n) {
                    vec!["Type".to_string()]
                } else {
                    replacement::replacing_properties(
                        &ty(n),
                        o.get("Properties").unwrap_or(&Value::Null),
                        n.get("Properties").unwrap_or(&Value::Null),
                    )
                };
                out.push(ResourceDiff {
                    logical_id: id.clone(),
                    resource_type: ty(n),
                    action: ResourceAction::Modified,
                    changes,
                    replaced_by,
                });
            }
            Some(_) => {}
        }
    }
    for (id, o) in old_r {
        if !new_r.contains_key(id) {
            out.push(ResourceDiff {
                logical_id: id.clone(),
                resource_type: ty(o),
                action: ResourceAction::Removed,
                changes: vec![],
                replaced_by: vec![],
            });
        }
    }
    out
}

/// Changes outside `Resources` (parameters, conditions, outputs, description).
pub fn other_changes(old: &Value, new: &Value) -> Vec<PathChange> {
    let mut out = vec![];
    if old.is_null() {
        return out;
    }
    for section in [
        "Description",
        "Metadata",
        "Parameters",
        "Conditions",
        "Outputs",
    ] {
        path_changes(old.get(section), new.get(section), section, &mut out);
    }
    out
}

fn show(v: &Option<Value>) -> String {
    match v {
        None => "(absent)".into(),
        Some(v) => ui::short(&serde_json::to_string(v).unwrap_or_default(), 100),
    }
}

/// Everything the diff found.
pub struct Report {
    pub stack: String,
    pub exists: bool,
    pub iam: Vec<iam_diff::IamChange>,
    pub resources: Vec<ResourceDiff>,
    pub other: Vec<PathChange>,
    pub params: Vec<ParamChange>,
    pub code: Vec<ParamChange>,
    pub code_note: Option<String>,
}

impl Report {
    pub fn has_differences(&self) -> bool {
        !(self.iam.is_empty()
            && self.resources.is_empty()
            && self.other.is_empty()
            && self.params.is_empty()
            && self.code.is_empty())
    }

    pub fn render(&self, ui: &mut Ui) {
        ui.heading(&format!(
            "Stack {}{}",
            self.stack,
            if self.exists {
                ""
            } else {
                " (not deployed yet: everything is new)"
            }
        ));
        if !self.iam.is_empty() {
            ui.blank();
            let title = if iam_diff::widens(&self.iam) {
                ui.paint(Colour::Red, "IAM Statement Changes (widening marked)")
            } else {
                "IAM Statement Changes".to_string()
            };
            ui.heading(&title);
            for l in ui::table(&iam_diff::HEADERS, &iam_diff::rows(&self.iam, ui)) {
                ui.line(&l);
            }
        }
        if !self.resources.is_empty() {
            ui.blank();
            ui.heading("Resources");
            for r in &self.resources {
                match r.action {
                    ResourceAction::Added => {
                        let l = ui.paint(
                            Colour::Green,
                            &format!("[+] {} {}", r.resource_type, r.logical_id),
                        );
                        ui.line(&l);
                    }
                    ResourceAction::Removed => {
                        let mut text = format!("[-] {} {}", r.resource_type, r.logical_id);
                        if replacement::DATA_TYPES.contains(&r.resource_type.as_str()) {
                            text.push_str("  (removed from the stack: deploy refuses without --allow-replacement)");
                        }
                        let l = ui.paint(Colour::Red, &text);
                        ui.line(&l);
                    }
                    ResourceAction::Modified => {
                        let head = format!("[~] {} {}", r.resource_type, r.logical_id);
                        let l = if r.replaced_by.is_empty() {
                            ui.paint(Colour::Yellow, &head)
                        } else {
                            ui.paint(
                                Colour::Red,
                                &format!("{head}  REPLACE ({} changes)", r.replaced_by.join(", ")),
                            )
                        };
                        ui.line(&l);
                        let n = r.changes.len();
                        for (i, c) in r.changes.iter().enumerate() {
                            let branch = if i + 1 == n { "└─" } else { "├─" };
                            let marker = if r
                                .replaced_by
                                .iter()
                                .any(|p| c.path.starts_with(&format!(".Properties.{p}")))
                            {
                                ui.paint(Colour::Red, " (requires replacement)")
                            } else {
                                String::new()
                            };
                            let path = c.path.trim_start_matches('.');
                            let change = match (&c.old, &c.new) {
                                (None, n) => ui.paint(Colour::Green, &format!("+ {}", show(n))),
                                (o, None) => ui.paint(Colour::Red, &format!("- {}", show(o))),
                                (o, n) => format!(
                                    "{} → {}",
                                    ui.paint(Colour::Red, &show(o)),
                                    ui.paint(Colour::Green, &show(n))
                                ),
                            };
                            ui.line(&format!("    {branch} {path}: {change}{marker}"));
                        }
                    }
                }
            }
        }
        if !self.other.is_empty() {
            ui.blank();
            ui.heading("Other template changes");
            for c in &self.other {
                ui.line(&format!(
                    "  [~] {}: {} → {}",
                    c.path,
                    show(&c.old),
                    show(&c.new)
                ));
            }
        }
        if !self.params.is_empty() {
            ui.blank();
            ui.heading("Parameters");
            for p in &self.params {
                ui.line(&format!("  [~] {}: {} → {:?}", p.name, old_param(p), p.new));
            }
        }
        if !self.code.is_empty() || self.code_note.is_some() {
            ui.blank();
            ui.heading("Code");
            for p in &self.code {
                ui.line(&format!("  [~] {}: {} → {:?}", p.name, old_param(p), p.new));
            }
            if let Some(n) = &self.code_note {
                ui.line(&format!("  {n}"));
            }
        }
        ui.blank();
        if self.has_differences() {
            ui.line(&format!(
                "{} difference(s): {} IAM, {} resource(s), {} other, {} parameter(s), {} code",
                self.iam.len()
                    + self.resources.len()
                    + self.other.len()
                    + self.params.len()
                    + self.code.len(),
                self.iam.len(),
                self.resources.len(),
                self.other.len(),
                self.params.len(),
                self.code.len()
            ));
        } else {
            ui.line(&ui.paint(Colour::Green, "no differences"));
        }
    }

    pub fn to_json(&self) -> Value {
        let pc = |c: &PathChange| json!({"path": c.path, "old": c.old, "new": c.new});
        json!({
            "stack": self.stack,
            "deployed": self.exists,
            "differences": self.has_differences(),
            "iamWidening": iam_diff::widens(&self.iam),
            "iam": self.iam.iter().map(|c| json!({
                "change": if c.sign == iam_diff::Sign::Added { "added" } else { "removed" },
                "widening": c.widening, "effect": c.stmt.effect, "actions": c.stmt.actions,
                "resources": c.stmt.resources, "principals": c.stmt.principals, "conditions": c.stmt.conditions,
            })).collect::<Vec<_>>(),
            "resources": self.resources.iter().map(|r| json!({
                "logicalId": r.logical_id, "type": r.resource_type,
                "action": match r.action { ResourceAction::Added => "added", ResourceAction::Removed => "removed", ResourceAction::Modified => "modified" },
                "replacement": !r.replaced_by.is_empty(), "replacedBy": r.replaced_by,
                "changes": r.changes.iter().map(pc).collect::<Vec<_>>(),
            })).collect::<Vec<_>>(),
            "other": self.other.iter().map(pc).collect::<Vec<_>>(),
            "parameters": self.params,
            "code": self.code,
            "codeNote": self.code_note,
        })
    }
}

fn old_param(p: &ParamChange) -> String {
    p.old
        .as_deref()
        .map(|o| format!("{o:?}"))
        .unwrap_or_else(|| "(none)".into())
}

/// Builds the report from the two templates and parameter sets.
pub fn report(
    stack: &str,
    old_template: &Value,
    new_template: &Value,
    old_params: &BTreeMap<String, String>,
    new_params: &BTreeMap<String, String>,
    exists: bool,
) -> Report {
    let code_params = [
        ids::P_SESSION_PERSISTENCE_CODE_KEY,
        ids::P_CONTEXT_MANAGER_CODE_KEY,
    ];
    let all = param_changes(old_params, new_params);
    let (code, params): (Vec<ParamChange>, Vec<ParamChange>) = all
        .into_iter()
        .partition(|p| code_params.contains(&p.name.as_str()));
    Report {
        stack: stack.to_string(),
        exists,
        iam: iam_diff::diff(old_template, new_template),
        resources: resource_diffs(old_template, new_template),
        other: other_changes(old_template, new_template),
        params,
        code,
        code_note: None,
    }
}

pub async fn run(args: DiffArgs) -> Result<ExitCode> {
    let mut ui = Ui::new(args.json);
    let names = super::names(&args.stage)?;
    super::validate_param_flags(&args.params)?;
    let template = super::local_template(&args.stage, args.template_file.as_ref())?;
    let aws = aws::connect(&args.aws).await?;
    let deployed = super::describe_stack(&aws, &names.stack)
        .await?
        .filter(|d| d.status != "REVIEW_IN_PROGRESS");
    let old_template = match &deployed {
        Some(_) => super::deployed_template(&aws, &names.stack).await?,
        None => Value::Null,
    };
    let kept = deployed.as_ref().map(|d| d.params.clone());

    let mut explicit = super::explicit_params(&args.params);
    explicit.insert(
        ids::P_CODE_BUCKET.into(),
        assets::bucket_name(&aws.account, &aws.region),
    );
    let dir = args.artifacts_dir.clone().unwrap_or_else(|| {
        std::env::var_os("CARGO_TARGET_DIR")
            .map(std::path::PathBuf::from)
            .unwrap_or_else(|| crate::synth::workspace_root().join("target"))
            .join("lambda")
    });
    let mut code_note = None;
    match lambda_package::artifacts_in(&dir)
        .map_err(anyhow::Error::from)
        .and_then(|a| assets::from_artifacts(&a))
    {
        Ok(list) => {
            for a in list {
                explicit.insert(a.parameter.into(), a.key);
            }
        }
        Err(_) => {
            code_note = Some(format!(
                "no built zips in {} (run `cargo xtask build`): code is not compared",
                dir.display()
            ));
        }
    }
    let mut new_params = super::resolve_params(&template, &explicit, kept.as_ref(), true)?;
    if code_note.is_some() {
        // Without local zips, assume the deployed code (or mark it unknown).
        for p in [
            ids::P_SESSION_PERSISTENCE_CODE_KEY,
            ids::P_CONTEXT_MANAGER_CODE_KEY,
        ] {
            if let Some(v) = kept.as_ref().and_then(|k| k.get(p)) {
                new_params.insert(p.into(), v.clone());
            }
        }
    }
    let mut rep = report(
        &names.stack,
        &old_template,
        &template,
        &kept.clone().unwrap_or_default(),
        &new_params,
        deployed.is_some(),
    );
    rep.code_note = code_note;
    rep.render(&mut ui);
    if args.json {
        Ui::print_json(&rep.to_json());
    }
    Ok(if rep.has_differences() && args.fail {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;
    use std::rc::Rc;

    fn t() -> Value {
        stack::synth(&stack::StackOptions::default())
            .unwrap()
            .to_json_value()
    }

    fn text(rep: &Report) -> String {
        let buf = Rc::new(RefCell::new(Vec::new()));
        let mut ui = Ui::capture(buf.clone());
        rep.render(&mut ui);
        let s = String::from_utf8(buf.borrow().clone()).unwrap();
        s
    }

    #[test]
    fn same_template_and_params_have_no_differences() {
        let p = BTreeMap::from([("A".to_string(), "1".to_string())]);
        let rep = report("S", &t(), &t(), &p, &p, true);
        assert!(!rep.has_differences());
        assert!(text(&rep).contains("no differences"));
    }

    #[test]
    fn no_stack_shows_everything_added() {
        let rep = report(
            "S",
            &Value::Null,
            &t(),
            &BTreeMap::new(),
            &BTreeMap::new(),
            false,
        );
        assert!(rep
            .resources
            .iter()
            .all(|r| r.action == ResourceAction::Added));
        assert_eq!(
            rep.resources.len(),
            t()["Resources"].as_object().unwrap().len()
        );
        let s = text(&rep);
        assert!(s.contains("[+] AWS::DynamoDB::Table SessionsTable"), "{s}");
        assert!(s.contains("not deployed yet"), "{s}");
    }

    #[test]
    fn changes_show_paths_old_new_replacement_and_iam_first() {
        let old = t();
        let mut new = old.clone();
        new["Resources"]["SessionsTable"]["Properties"]["KeySchema"][0]["AttributeName"] =
            json!("userId");
        new["Resources"]["SessionPersistenceFunction"]["Properties"]["MemorySize"] = json!(512);
        new["Resources"]["ContextManagerRole"]["Properties"]["Policies"][0]["PolicyDocument"]
            ["Statement"][0]["Action"]
            .as_array_mut()
            .unwrap()
            .push(json!("dynamodb:Scan"));
        new["Resources"]
            .as_object_mut()
            .unwrap()
            .remove("Dashboard");
        let old_p = BTreeMap::from([
            (
                ids::P_SESSION_PERSISTENCE_CODE_KEY.to_string(),
                "code/a.zip".to_string(),
            ),
            (ids::P_USER_POOL_ID.to_string(), "us-east-1_A".to_string()),
        ]);
        let new_p = BTreeMap::from([
            (
                ids::P_SESSION_PERSISTENCE_CODE_KEY.to_string(),
                "code/b.zip".to_string(),
            ),
            (ids::P_USER_POOL_ID.to_string(), "us-east-1_B".to_string()),
        ]);
        let rep = report("S", &old, &new, &old_p, &new_p, true);
        let s = text(&rep);
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
        let (iam, res, params, code) = (
            s.find("IAM Statement Changes").unwrap(),
            s.find("Resources").unwrap(),
            s.find("Parameters").unwrap(),
            s.find("Code").unwrap(),
        );
        assert!(iam < res && res < params && params < code, "{s}");
        assert!(
            s.contains("dynamodb:Scan") && s.contains("+ (widening)"),
            "{s}"
        );
        assert_eq!(rep.to_json()["differences"], json!(true));
    }
}
