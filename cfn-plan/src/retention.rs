//! What deleting the stack deletes and what it keeps: the template's
//! `DeletionPolicy` (`Retain`: the tables and the KMS key) per resource.

use serde_json::Value;

/// A resource of the stack and whether deleting the stack keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    pub logical_id: String,
    pub resource_type: String,
    pub physical_id: String,
    pub retained: bool,
}

/// Splits the stack's resources by the template's DeletionPolicy.
pub fn classify(template: &Value, resources: &[(String, String, String)]) -> Vec<Item> {
    resources
        .iter()
        .map(|(id, ty, phys)| {
            let policy = template
                .get("Resources")
                .and_then(|r| r.get(id))
                .and_then(|r| r.get("DeletionPolicy"))
                .and_then(Value::as_str)
                .unwrap_or("Delete");
            Item {
                logical_id: id.clone(),
                resource_type: ty.clone(),
                physical_id: phys.clone(),
                retained: policy == "Retain"
                    || policy == "RetainExceptOnCreate"
                    || policy == "Snapshot",
            }
        })
        .collect()
}
