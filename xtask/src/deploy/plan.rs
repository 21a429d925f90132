//! The plan: a change set as CloudFormation describes it (our own serde
//! types, shaped like the DescribeChangeSet JSON so recorded responses load
//! directly in tests), plus the IAM and parameter changes computed locally,
//! and its printout.

use crate::deploy::iam_diff::{self, IamChange};
use crate::deploy::replacement::{self, DataRisk};
use crate::deploy::ui::{self, Colour, Ui};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ChangeSetDescription {
    #[serde(default)]
    pub change_set_name: Option<String>,
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub status_reason: Option<String>,
    #[serde(default)]
    pub execution_status: Option<String>,
    #[serde(default)]
    pub changes: Vec<Change>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Change {
    #[serde(rename = "Type", default)]
    pub kind: Option<String>,
    #[serde(default)]
    pub resource_change: Option<ResourceChange>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ResourceChange {
    #[serde(default)]
    pub action: String,
    #[serde(default)]
    pub logical_resource_id: String,
    #[serde(default)]
    pub physical_resource_id: Option<String>,
    #[serde(default)]
    pub resource_type: String,
    #[serde(default)]
    pub replacement: Option<String>,
    #[serde(default)]
    pub scope: Vec<String>,
    #[serde(default)]
    pub details: Vec<Detail>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Detail {
    #[serde(default)]
    pub target: Option<DetailTarget>,
    #[serde(default)]
    pub evaluation: Option<String>,
    #[serde(default)]
    pub change_source: Option<String>,
    #[serde(default)]
    pub causing_entity: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct DetailTarget {
    #[serde(default)]
    pub attribute: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub requires_recreation: Option<String>,
}

impl ChangeSetDescription {
    pub fn resource_changes(&self) -> impl Iterator<Item = &ResourceChange> {
        self.changes
            .iter()
            .filter_map(|c| c.resource_change.as_ref())
    }

    /// Adds one page of an SDK DescribeChangeSet answer.
    pub fn extend_from_sdk(
        &mut self,
        out: &aws_sdk_cloudformation::operation::describe_change_set::DescribeChangeSetOutput,
    ) {
        self.change_set_name = out.change_set_name().map(str::to_string);
        self.status = out
            .status()
            .map(|s| s.as_str().to_string())
            .unwrap_or_default();
        self.status_reason = out.status_reason().map(str::to_string);
        self.execution_status = out.execution_status().map(|s| s.as_str().to_string());
        for c in out.changes() {
            self.changes.push(Change {
                kind: c.r#type().map(|t| t.as_str().to_string()),
                resource_change: c.resource_change().map(|rc| ResourceChange {
                    action: rc
                        .action()
                        .map(|a| a.as_str().to_string())
                        .unwrap_or_default(),
                    logical_resource_id: rc.logical_resource_id().unwrap_or_default().to_string(),
                    physical_resource_id: rc.physical_resource_id().map(str::to_string),
                    resource_type: rc.resource_type().unwrap_or_default().to_string(),
                    replacement: rc.replacement().map(|r| r.as_str().to_string()),
                    scope: rc.scope().iter().map(|s| s.as_str().to_string()).collect(),
                    details: rc
                        .details()
                        .iter()
                        .map(|d| Detail {
                            target: d.target().map(|t| DetailTarget {
                                attribute: t.attribute().map(|a| a.as_str().to_string()),
                                name: t.name().map(str::to_string),
                                requires_recreation: t
                                    .requires_recreation()
                                    .map(|r| r.as_str().to_string()),
                            }),
                            evaluation: d.evaluation().map(|e| e.as_str().to_string()),
                            change_source: d.change_source().map(|c| c.as_str().to_string()),
                            causing_entity: d.causing_entity().map(str::to_string),
                        })
                        .collect(),
                }),
            });
        }
    }
}

/// `replace: KeySchema changes` → `REPLACE: KeySchema changes`.
fn shout(r: &str) -> String {
    match r.split_once(':') {
        Some((head, rest)) => format!("{}:{rest}", head.to_uppercase()),
        None => r.to_uppercase(),
    }
}

/// A parameter whose value changes (old `None`: new stack or new parameter).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ParamChange {
    pub name: String,
    pub old: Option<String>,
    pub new: String,
}

pub fn param_changes(
    old: &BTreeMap<String, String>,
    new: &BTreeMap<String, String>,
) -> Vec<ParamChange> {
    new.iter()
        .filter(|(k, v)| old.get(*k) != Some(*v))
        .map(|(k, v)| ParamChange {
            name: k.clone(),
            old: old.get(k).cloned(),
            new: v.clone(),
        })
        .collect()
}

/// Everything the approval step and the printout need.
#[derive(Debug, Clone)]
pub struct Plan {
    pub stack_name: String,
    pub change_set: ChangeSetDescription,
    pub iam: Vec<IamChange>,
    pub params: Vec<ParamChange>,
    pub risks: Vec<DataRisk>,
    /// Logical ids the template comparison says are replaced (some endpoints don't report it).
    pub template_replacements: BTreeMap<String, Vec<String>>,
    /// Resource changes by template comparison, shown when the change set lists none
    /// (some endpoints, e.g. moto, report no resource changes for updates).
    pub template_changes: Vec<crate::deploy::diff::ResourceDiff>,
}

impl Plan {
    pub fn new(
        stack_name: &str,
        change_set: ChangeSetDescription,
        old_template: &Value,
        new_template: &Value,
        params: Vec<ParamChange>,
    ) -> Plan {
        let iam = iam_diff::diff(old_template, new_template);
        let risks = replacement::merge(
            replacement::from_change_set(&change_set),
            replacement::from_templates(old_template, new_template),
        );
        let mut template_replacements = BTreeMap::new();
        if let (Some(Value::Object(old)), Some(Value::Object(new))) =
            (old_template.get("Resources"), new_template.get("Resources"))
        {
            for (id, o) in old {
                if let Some(n) = new.get(id) {
                    let ty = o.get("Type").and_then(Value::as_str).unwrap_or_default();
                    let empty = Value::Null;
                    let props = replacement::replacing_properties(
                        ty,
                        o.get("Properties").unwrap_or(&empty),
                        n.get("Properties").unwrap_or(&empty),
                    );
                    if !props.is_empty() {
                        template_replacements.insert(id.clone(), props);
                    }
                }
            }
        }
        Plan {
            stack_name: stack_name.to_string(),
            change_set,
            iam,
            params,
            risks,
            template_replacements,
            template_changes: crate::deploy::diff::resource_diffs(old_template, new_template),
        }
    }

    pub fn widens_iam(&self) -> bool {
        iam_diff::widens(&self.iam)
    }

    fn replaced(&self, rc: &ResourceChange) -> Option<String> {
        match rc.replacement.as_deref() {
            Some("True") => Some("replace".into()),
            Some("Conditional") => Some("may replace".into()),
            // CloudFormation said no: trust it for the display (the data guard stays conservative).
            Some("False") => None,
            _ => self
                .template_replacements
                .get(&rc.logical_resource_id)
                .map(|p| format!("replace: {} changes", p.join(", "))),
        }
    }

    /// The printout: IAM first, then resources, parameters, data risks.
    pub fn render(&self, ui: &mut Ui) {
        let name = self.change_set.change_set_name.as_deref().unwrap_or("");
        ui.heading(&format!("Plan for {} (change set {name})", self.stack_name));
        if !self.iam.is_empty() {
            ui.blank();
            let title = if self.widens_iam() {
                ui.paint(
                    Colour::Red,
                    "IAM statement changes (widening: needs approval)",
                )
            } else {
                "IAM statement changes".to_string()
            };
            ui.heading(&title);
            for l in ui::table(&iam_diff::HEADERS, &iam_diff::rows(&self.iam, ui)) {
                ui.line(&l);
            }
        }
        ui.blank();
        ui.heading("Resources");
        let mut groups: [(&str, Vec<String>); 4] = [
            ("added", vec![]),
            ("modified", vec![]),
            ("removed", vec![]),
            ("replaced", vec![]),
        ];
        for rc in self.change_set.resource_changes() {
            let scope = if rc.scope.is_empty() {
                String::new()
            } else {
                let mut targets: Vec<String> = rc
                    .details
                    .iter()
                    .filter_map(|d| d.target.as_ref())
                    .map(|t| {
                        t.name
                            .clone()
                            .unwrap_or_else(|| t.attribute.clone().unwrap_or_default())
                    })
                    .filter(|s| !s.is_empty())
                    .collect();
                targets.sort();
                targets.dedup();
                if targets.is_empty() {
                    format!(" ({})", rc.scope.join(", "))
                } else {
                    format!(" ({})", targets.join(", "))
                }
            };
            let base = format!("{} {}{scope}", rc.resource_type, rc.logical_resource_id);
            match (rc.action.as_str(), self.replaced(rc)) {
                ("Add", _) => groups[0]
                    .1
                    .push(ui.paint(Colour::Green, &format!("[+] {base}"))),
                ("Remove", _) => groups[2]
                    .1
                    .push(ui.paint(Colour::Red, &format!("[-] {base}"))),
                (_, Some(r)) => groups[3]
                    .1
                    .push(ui.paint(Colour::Red, &format!("[~] {base}  {}", shout(&r)))),
                (_, None) => groups[1]
                    .1
                    .push(ui.paint(Colour::Yellow, &format!("[~] {base}"))),
            }
        }
        if groups.iter().all(|(_, v)| v.is_empty()) {
            if self.template_changes.is_empty() {
                ui.line("  (no resource changes)");
            } else {
                ui.line(
                    "  (the change set lists no resource changes; from comparing the templates:)",
                );
                use crate::deploy::diff::ResourceAction;
                for r in &self.template_changes {
                    let base = format!("{} {}", r.resource_type, r.logical_id);
                    let l = match r.action {
                        ResourceAction::Added => ui.paint(Colour::Green, &format!("[+] {base}")),
                        ResourceAction::Removed => ui.paint(Colour::Red, &format!("[-] {base}")),
                        ResourceAction::Modified if !r.replaced_by.is_empty() => ui.paint(
                            Colour::Red,
                            &format!("[~] {base}  REPLACE: {} changes", r.replaced_by.join(", ")),
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
                            ui.paint(
                                Colour::Yellow,
                                &format!("[~] {base} ({})", props.join(", ")),
                            )
                        }
                    };
                    ui.line(&format!("    {l}"));
                }
            }
        }
        for (label, lines) in &groups {
            if !lines.is_empty() {
                ui.line(&format!("  {label} ({}):", lines.len()));
                for l in lines {
                    ui.line(&format!("    {l}"));
                }
            }
        }
        if !self.params.is_empty() {
            ui.blank();
            ui.heading("Parameters");
            for p in &self.params {
                ui.line(&format!(
                    "  [~] {}: {} → {}",
                    p.name,
                    p.old
                        .as_deref()
                        .map(|o| format!("{o:?}"))
                        .unwrap_or_else(|| "(none)".into()),
                    format_args!("{:?}", p.new)
                ));
            }
        }
        if !self.risks.is_empty() {
            ui.blank();
            ui.heading(&ui.paint(Colour::Red, "Data safety"));
            for r in &self.risks {
                let l = ui.paint(Colour::Red, &format!("  ! would {r}"));
                ui.line(&l);
            }
        }
    }

    pub fn to_json(&self) -> Value {
        let rc: Vec<Value> = self
            .change_set
            .resource_changes()
            .map(|rc| {
                serde_json::json!({
                    "action": rc.action, "logicalId": rc.logical_resource_id, "type": rc.resource_type,
                    "replacement": self.replaced(rc),
                })
            })
            .collect();
        serde_json::json!({
            "changeSet": self.change_set.change_set_name,
            "iamWidening": self.widens_iam(),
            "iam": self.iam.iter().map(|c| serde_json::json!({
                "change": if c.sign == iam_diff::Sign::Added { "added" } else { "removed" },
                "widening": c.widening, "effect": c.stmt.effect, "actions": c.stmt.actions,
                "resources": c.stmt.resources, "principals": c.stmt.principals, "conditions": c.stmt.conditions,
            })).collect::<Vec<_>>(),
            "resources": rc,
            "parameters": self.params,
            "dataRisks": self.risks.iter().map(|r| r.to_string()).collect::<Vec<_>>(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;
    use std::rc::Rc;

    fn fixture(name: &str) -> ChangeSetDescription {
        let path = format!(
            "{}/../cfn-plan/tests/fixtures/{name}",
            env!("CARGO_MANIFEST_DIR")
        );
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
    }

    #[test]
    fn plan_prints_iam_first_then_resources_grouped() {
        let old = stack::synth(&stack::StackOptions::default())
            .unwrap()
            .to_json_value();
        let mut new = old.clone();
        new["Resources"]["SessionPersistenceRole"]["Properties"]["Policies"][0]["PolicyDocument"]
            ["Statement"][0]["Action"]
            .as_array_mut()
            .unwrap()
            .push("dynamodb:Scan".into());
        new["Resources"]["SessionsTable"]["Properties"]["KeySchema"] =
            serde_json::json!([{"AttributeName": "userId", "KeyType": "HASH"}]);
        let params = param_changes(
            &BTreeMap::from([(
                "SessionPersistenceCodeKey".to_string(),
                "code/a.zip".to_string(),
            )]),
            &BTreeMap::from([(
                "SessionPersistenceCodeKey".to_string(),
                "code/b.zip".to_string(),
            )]),
        );
        let plan = Plan::new(
            "VoiceLearningAssistantStack",
            fixture("changeset-table-replacement.json"),
            &old,
            &new,
            params,
        );
        assert!(plan.widens_iam());
        assert_eq!(plan.risks.len(), 1);
        let buf = Rc::new(RefCell::new(Vec::new()));
        let mut ui = Ui::capture(buf.clone());
        plan.render(&mut ui);
        let text = String::from_utf8(buf.borrow().clone()).unwrap();
        let iam = text.find("IAM statement changes (widening").expect(&text);
        let res = text.find("Resources").unwrap();
        assert!(iam < res, "{text}");
        assert!(
            text.contains("+ (widening)") && text.contains("dynamodb:Scan"),
            "{text}"
        );
        assert!(
            text.contains("[~] AWS::DynamoDB::Table SessionsTable") && text.contains("REPLACE"),
            "{text}"
        );
        assert!(
            text.contains("[~] AWS::Lambda::Function SessionPersistenceFunction (Code)"),
            "{text}"
        );
        assert!(
            text.contains("SessionPersistenceCodeKey: \"code/a.zip\" → \"code/b.zip\""),
            "{text}"
        );
        assert!(text.contains("would replace SessionsTable"), "{text}");
    }

    #[test]
    fn without_resource_changes_in_the_change_set_the_template_comparison_is_shown() {
        let old = stack::synth(&stack::StackOptions::default())
            .unwrap()
            .to_json_value();
        let mut new = old.clone();
        new["Resources"]["SessionPersistenceFunction"]["Properties"]["MemorySize"] =
            serde_json::json!(512);
        let plan = Plan::new("S", ChangeSetDescription::default(), &old, &new, vec![]);
        let buf = Rc::new(RefCell::new(Vec::new()));
        let mut ui = Ui::capture(buf.clone());
        plan.render(&mut ui);
        let text = String::from_utf8(buf.borrow().clone()).unwrap();
        assert!(text.contains("from comparing the templates"), "{text}");
        assert!(
            text.contains("[~] AWS::Lambda::Function SessionPersistenceFunction (MemorySize)"),
            "{text}"
        );
        let same = Plan::new("S", ChangeSetDescription::default(), &old, &old, vec![]);
        let buf = Rc::new(RefCell::new(Vec::new()));
        let mut ui = Ui::capture(buf.clone());
        same.render(&mut ui);
        assert!(String::from_utf8(buf.borrow().clone())
            .unwrap()
            .contains("(no resource changes)"));
    }

    #[test]
    fn param_changes_lists_only_differences() {
        let old = BTreeMap::from([
            ("A".to_string(), "1".to_string()),
            ("B".to_string(), "2".to_string()),
        ]);
        let new = BTreeMap::from([
            ("A".to_string(), "1".to_string()),
            ("B".to_string(), "3".to_string()),
            ("C".to_string(), "x".to_string()),
        ]);
        let c = param_changes(&old, &new);
        assert_eq!(c.len(), 2);
        assert_eq!(
            c[0],
            ParamChange {
                name: "B".into(),
                old: Some("2".into()),
                new: "3".into()
            }
        );
        assert_eq!(c[1].old, None);
    }
}
