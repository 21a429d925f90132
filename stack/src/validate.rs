//! The validation pass run on every synth. A broken template is an error
//! naming the culprit, never a silent output.

use crate::expr::{sub_variables, PSEUDO_PARAMETERS};
use crate::model::Template;
use crate::StackError;
use serde_json::Value;
use std::collections::{BTreeSet, HashMap};

/// CloudFormation quotas this template must stay within.
pub const MAX_RESOURCES: usize = 500;
pub const MAX_PARAMETERS: usize = 200;
pub const MAX_OUTPUTS: usize = 200;
/// Largest template body CloudFormation accepts (through S3).
pub const MAX_TEMPLATE_BYTES: usize = 1_000_000;
/// Largest template body accepted inline in the API call.
pub const MAX_INLINE_TEMPLATE_BYTES: usize = 51_200;

fn valid_logical_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 255 && id.chars().all(|c| c.is_ascii_alphanumeric())
}

/// Checks ids, references and limits. Returns every problem found, not just the first.
pub fn validate(t: &Template) -> Result<(), StackError> {
    let mut problems = Vec::new();

    // Ids: valid and unique across parameters, conditions, resources, outputs
    // (parameters and resources share one namespace in CloudFormation).
    let mut seen: HashMap<&str, &str> = HashMap::new();
    let sections = [
        (
            "parameter",
            t.parameters
                .iter()
                .map(|(k, _)| k.as_str())
                .collect::<Vec<_>>(),
        ),
        (
            "resource",
            t.resources.iter().map(|(k, _)| k.as_str()).collect(),
        ),
    ];
    for (kind, ids) in &sections {
        for id in ids {
            if !valid_logical_id(id) {
                problems.push(format!(
                    "{kind} `{id}`: logical id must be 1-255 ASCII letters or digits"
                ));
            }
            if let Some(prev) = seen.insert(id, kind) {
                problems.push(format!(
                    "{kind} `{id}`: duplicate logical id (already used by a {prev})"
                ));
            }
        }
    }
    let mut cond_seen = BTreeSet::new();
    for (id, _) in &t.conditions {
        if !valid_logical_id(id) {
            problems.push(format!(
                "condition `{id}`: name must be ASCII letters or digits"
            ));
        }
        if !cond_seen.insert(id.as_str()) {
            problems.push(format!("condition `{id}`: duplicate condition name"));
        }
    }
    let mut out_seen = BTreeSet::new();
    for (id, _) in &t.outputs {
        if !valid_logical_id(id) {
            problems.push(format!(
                "output `{id}`: logical id must be ASCII letters or digits"
            ));
        }
        if !out_seen.insert(id.as_str()) {
            problems.push(format!("output `{id}`: duplicate output id"));
        }
    }

    let params: BTreeSet<&str> = t.parameters.iter().map(|(k, _)| k.as_str()).collect();
    let resources: BTreeSet<&str> = t.resources.iter().map(|(k, _)| k.as_str()).collect();
    let conditions: BTreeSet<&str> = t.conditions.iter().map(|(k, _)| k.as_str()).collect();
    let mut used_params = BTreeSet::new();
    let mut used_conditions = BTreeSet::new();

    let mut check = |owner: &str, v: &Value, problems: &mut Vec<String>| {
        let mut refs = References::default();
        collect(v, &mut refs);
        for r in refs.refs {
            if params.contains(r.as_str()) {
                used_params.insert(r);
            } else if !resources.contains(r.as_str()) && !PSEUDO_PARAMETERS.contains(&r.as_str()) {
                problems.push(format!(
                    "{owner}: Ref to `{r}`, which is no parameter, resource or pseudo parameter"
                ));
            }
        }
        for (res, attr) in refs.get_atts {
            if !resources.contains(res.as_str()) {
                problems.push(format!("{owner}: GetAtt `{res}.{attr}` names no resource"));
            }
        }
        for var in refs.sub_vars {
            let head = var.split('.').next().unwrap_or_default().to_string();
            if var.contains('.') {
                if !resources.contains(head.as_str()) {
                    problems.push(format!(
                        "{owner}: Sub variable `${{{var}}}` names no resource"
                    ));
                }
            } else if params.contains(var.as_str()) {
                used_params.insert(var);
            } else if !resources.contains(var.as_str())
                && !PSEUDO_PARAMETERS.contains(&var.as_str())
            {
                problems.push(format!("{owner}: Sub variable `${{{var}}}` is no parameter, resource or pseudo parameter"));
            }
        }
        for c in refs.conditions {
            if conditions.contains(c.as_str()) {
                used_conditions.insert(c);
            } else {
                problems.push(format!("{owner}: condition `{c}` is not defined"));
            }
        }
    };

    let mut attribute_conditions: Vec<(String, String)> = Vec::new();
    for (id, c) in &t.conditions {
        let v = serde_json::to_value(c).expect("serialize");
        check(&format!("condition `{id}`"), &v, &mut problems);
    }
    for (id, r) in &t.resources {
        let v = serde_json::to_value(r).expect("serialize");
        let owner = format!("resource `{id}` ({})", r.type_name());
        check(&owner, &v, &mut problems);
        for dep in &r.depends_on {
            if !resources.contains(dep.as_str()) {
                problems.push(format!(
                    "{owner}: DependsOn `{dep}`, which is not a resource"
                ));
            }
        }
        if let Some(c) = &r.condition {
            attribute_conditions.push((owner.clone(), c.clone()));
        }
    }
    for (id, o) in &t.outputs {
        let v = serde_json::to_value(o).expect("serialize");
        check(&format!("output `{id}`"), &v, &mut problems);
        if let Some(c) = &o.condition {
            attribute_conditions.push((format!("output `{id}`"), c.clone()));
        }
    }
    for (owner, c) in attribute_conditions {
        if conditions.contains(c.as_str()) {
            used_conditions.insert(c);
        } else {
            problems.push(format!("{owner}: condition `{c}` is not defined"));
        }
    }
    for p in &params {
        if !used_params.contains(*p) {
            problems.push(format!(
                "parameter `{p}`: declared but never used (remove it or reference it)"
            ));
        }
    }
    for c in &conditions {
        if !used_conditions.contains(*c) {
            problems.push(format!("condition `{c}`: declared but never used"));
        }
    }

    if t.resources.len() > MAX_RESOURCES {
        problems.push(format!(
            "template has {} resources; CloudFormation allows {MAX_RESOURCES}",
            t.resources.len()
        ));
    }
    if t.parameters.len() > MAX_PARAMETERS {
        problems.push(format!(
            "template has {} parameters; CloudFormation allows {MAX_PARAMETERS}",
            t.parameters.len()
        ));
    }
    if t.outputs.len() > MAX_OUTPUTS {
        problems.push(format!(
            "template has {} outputs; CloudFormation allows {MAX_OUTPUTS}",
            t.outputs.len()
        ));
    }
    let size = serde_json::to_string(&t.to_json_value())
        .expect("json")
        .len();
    if size > MAX_TEMPLATE_BYTES {
        problems.push(format!(
            "template is {size} bytes; CloudFormation allows {MAX_TEMPLATE_BYTES}"
        ));
    }

    if problems.is_empty() {
        Ok(())
    } else {
        Err(StackError::Invalid(problems))
    }
}

#[derive(Default)]
struct References {
    refs: Vec<String>,
    get_atts: Vec<(String, String)>,
    sub_vars: Vec<String>,
    conditions: Vec<String>,
}

fn collect(v: &Value, out: &mut References) {
    match v {
        Value::Object(m) => {
            if m.len() == 1 {
                let (k, inner) = m.iter().next().expect("one entry");
                match (k.as_str(), inner) {
                    ("Ref", Value::String(n)) => return out.refs.push(n.clone()),
                    ("Fn::GetAtt", Value::Array(a)) if a.len() == 2 => {
                        if let (Some(r), Some(at)) = (a[0].as_str(), a[1].as_str()) {
                            return out.get_atts.push((r.to_string(), at.to_string()));
                        }
                    }
                    ("Fn::Sub", Value::String(s)) => return out.sub_vars.extend(sub_variables(s)),
                    ("Fn::If", Value::Array(a)) if a.len() == 3 => {
                        if let Some(c) = a[0].as_str() {
                            out.conditions.push(c.to_string());
                        }
                        collect(&a[1], out);
                        collect(&a[2], out);
                        return;
                    }
                    ("Condition", Value::String(c)) => return out.conditions.push(c.clone()),
                    _ => {}
                }
            }
            for (k, inner) in m {
                // A resource's own `Condition` attribute is checked separately.
                if k == "Condition" && inner.is_string() {
                    continue;
                }
                // Metadata is free-form (checkov skips), not template references.
                if k == "Metadata" {
                    continue;
                }
                collect(inner, out);
            }
        }
        Value::Array(a) => a.iter().for_each(|x| collect(x, out)),
        _ => {}
    }
}
