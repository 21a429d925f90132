//! The plan a deploy shows and asks approval for: the change set as
//! CloudFormation describes it, plus the IAM, parameter and data-risk
//! changes computed locally from the templates.

use crate::change_set::{ChangeSet, Replacement, ResourceChange};
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
}

impl Plan {
    pub fn new(
        stack_name: &str,
        change_set: ChangeSet,
        old_template: &Value,
        new_template: &Value,
        params: Vec<ParamChange>,
    ) -> Plan {
        let iam = iam::diff(old_template, new_template);
        let risks = replacement::merge(
            replacement::from_change_set(&change_set),
            replacement::from_templates(old_template, new_template),
        );
        let mut template_replacements = BTreeMap::new();
        let new = resources(new_template);
        for (id, o) in resources(old_template) {
            if let Some(n) = new.get(id) {
                let props =
                    replacement::replacing_properties(type_of(o), properties(o), properties(n));
                if !props.is_empty() {
                    template_replacements.insert(id.clone(), props);
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
            template_changes: resource_diffs(old_template, new_template),
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

    pub fn to_json(&self) -> Value {
        let rc: Vec<Value> = self
            .change_set
            .resource_changes()
            .map(|rc| {
                // The same words and types as `diff --json`'s resources.
                serde_json::json!({
                    "action": rc.action.word(), "logicalId": rc.logical_resource_id, "type": rc.resource_type,
                    "replacement": self.replaced(rc).is_some(),
                    "replacedBy": self.template_replacements.get(&rc.logical_resource_id).cloned().unwrap_or_default(),
                })
            })
            .collect();
        serde_json::json!({
            "changeSet": self.change_set.change_set_name,
            "iamWidening": self.widens_iam(),
            "iam": self.iam.iter().map(iam::IamChange::to_json).collect::<Vec<_>>(),
            "resources": rc,
            "parameters": crate::params::changes_json(&self.params),
            "dataRisks": self.risks.iter().map(|r| r.to_string()).collect::<Vec<_>>(),
        })
    }
}
