//! The plan a deploy shows and asks approval for: the change set as
//! CloudFormation describes it, plus the IAM, parameter and data-risk
//! changes computed locally from the templates.

use crate::change_set::{ChangeAction, ChangeSet, Replacement, ResourceChange};
use crate::conditions;
use crate::iam::{self, IamChange};
use crate::params::ParamChange;
use crate::replacement::{self, DataRisk};
use crate::template::{properties, resources, type_of};
use crate::template_diff::{resource_diffs, ResourceDiff};
use serde_json::Value;
use std::collections::BTreeMap;

/// Everything the approval step and the printout need.
#[derive(Debug, Clone)]
pub struct Plan {
    pub stack_name: String,
    pub change_set: ChangeSet,
    pub iam: Vec<IamChange>,
    pub params: Vec<ParamChange>,
    pub risks: Vec<DataRisk>,
    /// Logical ids the template comparison says are replaced (some endpoints don't report it).
    pub template_replacements: BTreeMap<String, Vec<String>>,
    /// Resource changes by template comparison, shown when the change set lists none
    /// (some endpoints, e.g. moto, report no resource changes for updates).
    pub template_changes: Vec<ResourceDiff>,
    /// The stack does not exist yet.
    pub new_stack: bool,
    /// Every IAM-relevant statement of the stack after the deploy (what a
    /// first deploy's summary condenses).
    pub statements: Vec<iam::Stmt>,
    /// Resources kept that carry a condition: logical id → condition.
    pub conditional: BTreeMap<String, String>,
    /// Resources the template holds but this deploy does not create (their
    /// condition is false): logical id → (type, condition).
    pub left_out: BTreeMap<String, (String, String)>,
}

impl Plan {
    /// The plan from the change set and the two templates, each evaluated
    /// with its own parameter values (the deployed stack's, this deploy's):
    /// what a false condition leaves out is neither shown nor compared.
    pub fn new(
        stack_name: &str,
        change_set: ChangeSet,
        old_template: &Value,
        new_template: &Value,
        old_params: &BTreeMap<String, String>,
        new_params: &BTreeMap<String, String>,
    ) -> Plan {
        let new_stack = resources(old_template).is_empty();
        let old = conditions::resolve(old_template, old_params);
        let new = conditions::resolve(new_template, new_params);
        let written_new = new_template;
        let (old_template, new_template) = (&old.template, &new.template);
        let iam = iam::diff(old_template, new_template);
        let risks = replacement::merge(
            replacement::from_change_set(&change_set),
            replacement::from_templates(old_template, new_template),
        );
        let mut template_replacements = BTreeMap::new();
        let new_resources = resources(new_template);
        for (id, o) in resources(old_template) {
            if let Some(n) = new_resources.get(id) {
                let props =
                    replacement::replacing_properties(type_of(o), properties(o), properties(n));
                if !props.is_empty() {
                    template_replacements.insert(id.clone(), props);
                }
            }
        }
        // Their types, from the template as written (they are not in `new`).
        let written = resources(written_new);
        let left_out = new
            .left_out
            .iter()
            .map(|(id, c)| {
                let ty = written.get(id).map(type_of).unwrap_or_default();
                (id.clone(), (ty.to_string(), c.clone()))
            })
            .collect();
        Plan {
            stack_name: stack_name.to_string(),
            change_set,
            iam,
            params: crate::params::param_changes(old_params, new_params),
            risks,
            template_replacements,
            template_changes: resource_diffs(old_template, new_template),
            new_stack,
            statements: iam::statements(new_template),
            conditional: new.conditional,
            left_out,
        }
    }

    pub fn widens_iam(&self) -> bool {
        iam::widens(&self.iam)
    }

    /// How the change replaces the resource, if it does: `replace`, `may
    /// replace`, or (when the change set does not say) the template
    /// comparison's `replace: KeySchema changes`.
    pub fn replaced(&self, rc: &ResourceChange) -> Option<String> {
        match rc.replacement {
            Some(Replacement::True) => Some("replace".into()),
            Some(Replacement::Conditional) => Some("may replace".into()),
            // CloudFormation said no: trust it for the display (the data guard stays conservative).
            Some(Replacement::False) => None,
            _ => self
                .template_replacements
                .get(&rc.logical_resource_id)
                .map(|p| format!("replace: {} changes", p.join(", "))),
        }
    }

    /// The change set's resource changes, less the additions of resources
    /// this deploy leaves out (an emulator's change set may list them;
    /// CloudFormation's does not).
    pub fn resource_changes(&self) -> impl Iterator<Item = &ResourceChange> {
        self.change_set.resource_changes().filter(|rc| {
            !(rc.action == ChangeAction::Add && self.left_out.contains_key(&rc.logical_resource_id))
        })
    }

    /// The condition a resource depends on, if any.
    pub fn condition_of(&self, logical_id: &str) -> Option<&str> {
        self.conditional.get(logical_id).map(String::as_str)
    }

    pub fn to_json(&self) -> Value {
        let rc: Vec<Value> = self
            .resource_changes()
            .map(|rc| {
                // The same words and types as `diff --json`'s resources.
                let mut v = serde_json::json!({
                    "action": rc.action.word(), "logicalId": rc.logical_resource_id, "type": rc.resource_type,
                    "replacement": self.replaced(rc).is_some(),
                    "replacedBy": self.template_replacements.get(&rc.logical_resource_id).cloned().unwrap_or_default(),
                });
                if let Some(c) = self.condition_of(&rc.logical_resource_id) {
                    v["condition"] = c.into();
                }
                v
            })
            .collect();
        let iam: Vec<Value> = self
            .iam
            .iter()
            .map(|c| {
                let mut v = c.to_json();
                if let Some(cond) = self.condition_of(&c.stmt.source) {
                    v["condition"] = cond.into();
                }
                v
            })
            .collect();
        let left_out: Vec<Value> = self
            .left_out
            .iter()
            .map(|(id, (ty, c))| serde_json::json!({"logicalId": id, "type": ty, "condition": c}))
            .collect();
        serde_json::json!({
            "changeSet": self.change_set.change_set_name,
            "newStack": self.new_stack,
            "iamWidening": self.widens_iam(),
            "iam": iam,
            "resources": rc,
            "notCreated": left_out,
            "parameters": crate::params::changes_json(&self.params),
            "dataRisks": self.risks.iter().map(|r| r.to_string()).collect::<Vec<_>>(),
        })
    }
}
