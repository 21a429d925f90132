//! A template as one deploy will create it: its conditions evaluated with
//! that deploy's parameter values, resources and outputs whose condition is
//! false left out, and each `Fn::If` on a known condition replaced by its
//! branch (`AWS::NoValue` removing what holds it). CloudFormation does the
//! same before it creates anything
//! (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/conditions-section-structure.html),
//! so the plan shows what will exist, not every resource the template could
//! hold. A condition that depends on something unknown here (a pseudo
//! parameter, an import) stays unknown and keeps its resources.

use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// The template under `params` (given values, else each parameter's
/// default), and the condition each remaining conditional resource
/// depends on.
#[derive(Debug, Clone, Default)]
pub struct Resolved {
    pub template: Value,
    /// Logical id → condition name, for the resources kept that have one.
    pub conditional: BTreeMap<String, String>,
    /// Logical id → condition name, for the resources left out (false).
    pub left_out: BTreeMap<String, String>,
}

/// Evaluates `template`'s conditions with `params`; see the module docs.
pub fn resolve(template: &Value, params: &BTreeMap<String, String>) -> Resolved {
    let values = parameter_values(template, params);
    let defined = template
        .get("Conditions")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let mut known = BTreeMap::new();
    for name in defined.keys() {
        if let Some(v) = eval_named(name, &defined, &values, 0) {
            known.insert(name.clone(), v);
        }
    }
    let mut out = template.clone();
    let mut conditional = BTreeMap::new();
    let mut left_out = BTreeMap::new();
    for section in ["Resources", "Outputs"] {
        let Some(Value::Object(items)) = out.get_mut(section) else {
            continue;
        };
        let mut kept = Map::new();
        for (id, item) in std::mem::take(items) {
            let cond = item
                .get("Condition")
                .and_then(Value::as_str)
                .map(str::to_string);
            match cond.as_deref().map(|c| (c, known.get(c))) {
                Some((c, Some(false))) => {
                    if section == "Resources" {
                        left_out.insert(id, c.to_string());
                    }
                }
                other => {
                    if let (Some((c, _)), "Resources") = (other, section) {
                        conditional.insert(id.clone(), c.to_string());
                    }
                    kept.insert(id, pick_branches(&item, &known).unwrap_or(Value::Null));
                }
            }
        }
        *items = kept;
    }
    Resolved {
        template: out,
        conditional,
        left_out,
    }
}

fn parameter_values(
    template: &Value,
    params: &BTreeMap<String, String>,
) -> BTreeMap<String, String> {
    let mut values = BTreeMap::new();
    if let Some(Value::Object(defs)) = template.get("Parameters") {
        for (name, def) in defs {
            let v = params
                .get(name)
                .cloned()
                .or_else(|| match def.get("Default") {
                    Some(Value::String(s)) => Some(s.clone()),
                    Some(Value::Number(n)) => Some(n.to_string()),
                    _ => None,
                });
            if let Some(v) = v {
                values.insert(name.clone(), v);
            }
        }
    }
    values
}

fn eval_named(
    name: &str,
    defined: &Map<String, Value>,
    values: &BTreeMap<String, String>,
    depth: usize,
) -> Option<bool> {
    eval(defined.get(name)?, defined, values, depth + 1)
}

/// `Fn::Equals`, `Fn::Not`, `Fn::And`, `Fn::Or`, `{"Condition": name}`;
/// `None` when a value is not known here.
fn eval(
    v: &Value,
    defined: &Map<String, Value>,
    values: &BTreeMap<String, String>,
    depth: usize,
) -> Option<bool> {
    if depth > 32 {
        return None;
    }
    let (op, arg) = v.as_object().filter(|m| m.len() == 1)?.iter().next()?;
    let items = arg.as_array();
    match op.as_str() {
        "Condition" => eval_named(arg.as_str()?, defined, values, depth),
        "Fn::Equals" => match items?.as_slice() {
            [a, b] => Some(scalar(a, values)? == scalar(b, values)?),
            _ => None,
        },
        "Fn::Not" => match items?.as_slice() {
            [c] => eval(c, defined, values, depth + 1).map(|b| !b),
            _ => None,
        },
        // Unknown operands make the result unknown, unless another decides it.
        "Fn::And" => {
            let r: Vec<Option<bool>> = items?
                .iter()
                .map(|c| eval(c, defined, values, depth + 1))
                .collect();
            if r.contains(&Some(false)) {
                Some(false)
            } else {
                r.into_iter().collect::<Option<Vec<_>>>().map(|_| true)
            }
        }
        "Fn::Or" => {
            let r: Vec<Option<bool>> = items?
                .iter()
                .map(|c| eval(c, defined, values, depth + 1))
                .collect();
            if r.contains(&Some(true)) {
                Some(true)
            } else {
                r.into_iter().collect::<Option<Vec<_>>>().map(|_| false)
            }
        }
        _ => None,
    }
}

/// A literal or a `Ref` to a parameter with a value.
fn scalar(v: &Value, values: &BTreeMap<String, String>) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Object(m) if m.len() == 1 => values.get(m.get("Ref")?.as_str()?).cloned(),
        _ => None,
    }
}

/// `v` with each `Fn::If` on a known condition replaced by its branch;
/// `None` for `AWS::NoValue` (its holder drops it).
fn pick_branches(v: &Value, known: &BTreeMap<String, bool>) -> Option<Value> {
    match v {
        Value::Object(m) if m.len() == 1 => {
            if let Some(Value::Array(args)) = m.get("Fn::If") {
                if let [Value::String(c), yes, no] = args.as_slice() {
                    if let Some(b) = known.get(c) {
                        return pick_branches(if *b { yes } else { no }, known);
                    }
                }
            }
            if m.get("Ref").and_then(Value::as_str) == Some("AWS::NoValue") {
                return None;
            }
            Some(Value::Object(
                m.iter()
                    .filter_map(|(k, x)| Some((k.clone(), pick_branches(x, known)?)))
                    .collect(),
            ))
        }
        Value::Object(m) => Some(Value::Object(
            m.iter()
                .filter_map(|(k, x)| Some((k.clone(), pick_branches(x, known)?)))
                .collect(),
        )),
        Value::Array(items) => Some(Value::Array(
            items
                .iter()
                .filter_map(|x| pick_branches(x, known))
                .collect(),
        )),
        other => Some(other.clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn template() -> Value {
        json!({
            "Parameters": {
                "Days": {"Type": "Number", "Default": 0},
                "Email": {"Type": "String", "Default": ""},
            },
            "Conditions": {
                "BackupsOn": {"Fn::Not": [{"Fn::Equals": [{"Ref": "Days"}, 0]}]},
                "EmailOn": {"Fn::Not": [{"Fn::Equals": [{"Ref": "Email"}, ""]}]},
                "InUsEast1": {"Fn::Equals": [{"Ref": "AWS::Region"}, "us-east-1"]},
                "Either": {"Fn::Or": [{"Condition": "BackupsOn"}, {"Condition": "InUsEast1"}]},
            },
            "Resources": {
                "Table": {"Type": "AWS::DynamoDB::Table", "Properties": {
                    "Tags": [{"Key": "a", "Value": "b"}, {"Fn::If": ["BackupsOn", {"Key": "backup", "Value": "yes"}, {"Ref": "AWS::NoValue"}]}]
                }},
                "Vault": {"Type": "AWS::Backup::BackupVault", "Condition": "BackupsOn"},
                "Topic": {"Type": "AWS::SNS::Subscription", "Condition": "EmailOn"},
                "Regional": {"Type": "AWS::SNS::Topic", "Condition": "Either"},
            },
            "Outputs": {"VaultName": {"Condition": "BackupsOn", "Value": "x"}},
        })
    }

    #[test]
    fn defaults_leave_out_the_options_and_their_branches() {
        let r = resolve(&template(), &BTreeMap::new());
        let res = r.template["Resources"].as_object().unwrap();
        let mut ids: Vec<_> = res.keys().collect();
        ids.sort();
        assert_eq!(ids, ["Regional", "Table"]);
        assert_eq!(
            res["Table"]["Properties"]["Tags"],
            json!([{"Key": "a", "Value": "b"}])
        );
        assert_eq!(r.template["Outputs"], json!({}));
        assert_eq!(
            r.left_out,
            BTreeMap::from([
                ("Topic".into(), "EmailOn".into()),
                ("Vault".into(), "BackupsOn".into())
            ])
        );
        // Unknown here (the region): kept, with its condition named.
        assert_eq!(
            r.conditional,
            BTreeMap::from([("Regional".into(), "Either".into())])
        );
    }

    #[test]
    fn an_option_turned_on_adds_exactly_its_resources() {
        let on = BTreeMap::from([("Days".to_string(), "35".to_string())]);
        let r = resolve(&template(), &on);
        let res = r.template["Resources"].as_object().unwrap();
        let mut ids: Vec<_> = res.keys().collect();
        ids.sort();
        assert_eq!(ids, ["Regional", "Table", "Vault"]);
        assert_eq!(
            res["Table"]["Properties"]["Tags"][1],
            json!({"Key": "backup", "Value": "yes"})
        );
        assert_eq!(r.template["Outputs"]["VaultName"]["Value"], "x");
        // `Either` is now decided by BackupsOn alone.
        assert_eq!(r.conditional["Regional"], "Either");
        assert!(!r.left_out.contains_key("Regional"));
    }
}
