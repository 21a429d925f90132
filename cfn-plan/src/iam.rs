//! IAM statement changes between two templates, and whether they widen
//! access (the CDK "broadening" rule, a little stricter).
//!
//! Statements are collected from role inline policies and trust policies,
//! `AWS::IAM::Policy` documents, KMS key policies, and Lambda permissions.
//! A change widens access when an added Allow grants a (principal, action,
//! resource) that no old Allow with the same or weaker conditions granted,
//! or when a removed Deny denied something no remaining Deny denies.
//! Removing actions or resources, or adding conditions, is a narrowing.

use crate::template::{properties, resources, type_of};
use serde_json::Value;
use stack::resources::{KmsKey, Permission, Role, Route};
use std::collections::BTreeSet;

/// One policy statement, flattened for display and comparison.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Stmt {
    /// The resource the policy is attached to, e.g. `SessionPersistenceRole`.
    pub source: String,
    pub effect: String,
    pub principals: Vec<String>,
    pub actions: Vec<String>,
    pub resources: Vec<String>,
    /// `Operator key: values`, sorted.
    pub conditions: Vec<String>,
    /// `NotAction`, `NotResource` or `NotPrincipal` is used: always treated as widening.
    pub negated: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sign {
    Added,
    Removed,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IamChange {
    pub sign: Sign,
    pub stmt: Stmt,
    /// This change grants something that was not granted before.
    pub widening: bool,
}

/// Renders a CloudFormation value the way CDK's diff does: `${Res.Attr}`, `${Param}`.
pub fn render(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Array(a) => a.iter().map(render).collect::<Vec<_>>().join(", "),
        Value::Object(m) if m.len() == 1 => {
            let (k, inner) = m.iter().next().expect("one entry");
            match (k.as_str(), inner) {
                ("Ref", Value::String(id)) => format!("${{{id}}}"),
                ("Fn::GetAtt", Value::Array(a)) if a.len() == 2 => {
                    format!("${{{}.{}}}", render(&a[0]), render(&a[1]))
                }
                ("Fn::GetAtt", Value::String(s)) => format!("${{{s}}}"),
                ("Fn::Sub", Value::String(s)) => s.clone(),
                ("Fn::Sub", Value::Array(a)) if !a.is_empty() => render(&a[0]),
                ("Fn::Join", Value::Array(a)) if a.len() == 2 => {
                    let sep = render(&a[0]);
                    match &a[1] {
                        Value::Array(parts) => {
                            parts.iter().map(render).collect::<Vec<_>>().join(&sep)
                        }
                        other => render(other),
                    }
                }
                _ => serde_json::to_string(v).unwrap_or_default(),
            }
        }
        Value::Null => String::new(),
        other => other.to_string().trim_matches('"').to_string(),
    }
}

fn strings(v: Option<&Value>) -> Vec<String> {
    let mut out: Vec<String> = match v {
        None => vec![],
        Some(Value::Array(a)) => a.iter().map(render).collect(),
        Some(other) => vec![render(other)],
    };
    out.sort();
    out.dedup();
    out
}

fn principals(v: Option<&Value>) -> Vec<String> {
    let mut out = vec![];
    match v {
        None => {}
        Some(Value::String(s)) => out.push(s.clone()),
        Some(Value::Object(m)) => {
            for (kind, val) in m {
                for p in strings(Some(val)) {
                    out.push(format!("{kind}:{p}"));
                }
            }
        }
        Some(other) => out.push(render(other)),
    }
    out.sort();
    out.dedup();
    out
}

fn conditions(v: Option<&Value>) -> Vec<String> {
    let mut out = vec![];
    if let Some(Value::Object(ops)) = v {
        for (op, keys) in ops {
            if let Value::Object(keys) = keys {
                for (k, vals) in keys {
                    let vals = strings(Some(vals));
                    if vals.len() == 1 {
                        out.push(format!("{op} {k}: {}", vals[0]));
                    } else {
                        out.push(format!(
                            "{op} {k}:\n{}",
                            vals.iter()
                                .map(|v| format!("  {v}"))
                                .collect::<Vec<_>>()
                                .join("\n")
                        ));
                    }
                }
            }
        }
    }
    out.sort();
    out
}

/// A statement, or both branches of `Fn::If [condition, a, b]` (an opt-in
/// feature's statement): which one is in effect depends on parameters, so
/// the diff treats a conditional grant as granted; `AWS::NoValue` is none.
fn conditional_branches(s: &Value) -> Vec<Value> {
    match s.get("Fn::If").and_then(Value::as_array) {
        Some(branches) if s.as_object().is_some_and(|m| m.len() == 1) => branches
            .iter()
            .skip(1)
            .filter(|b| b.get("Ref").and_then(Value::as_str) != Some("AWS::NoValue"))
            .flat_map(conditional_branches)
            .collect(),
        _ => vec![s.clone()],
    }
}

fn statements_of(
    doc: &Value,
    source: &str,
    principal_override: Option<&str>,
    resource_override: Option<&str>,
) -> Vec<Stmt> {
    let list = match doc.get("Statement") {
        Some(Value::Array(a)) => a.iter().flat_map(conditional_branches).collect(),
        Some(one @ Value::Object(_)) => conditional_branches(one),
        _ => vec![],
    };
    list.iter()
        .map(|s| {
            let negated = s.get("NotAction").is_some()
                || s.get("NotResource").is_some()
                || s.get("NotPrincipal").is_some();
            let actions = strings(s.get("Action").or(s.get("NotAction")));
            let resources = match resource_override {
                Some(r) => vec![r.to_string()],
                None => strings(s.get("Resource").or(s.get("NotResource"))),
            };
            let principals = match principal_override {
                Some(p) => vec![p.to_string()],
                None => principals(s.get("Principal").or(s.get("NotPrincipal"))),
            };
            Stmt {
                source: source.to_string(),
                effect: s
                    .get("Effect")
                    .map(render)
                    .unwrap_or_else(|| "Allow".into()),
                principals,
                actions,
                resources,
                conditions: conditions(s.get("Condition")),
                negated,
            }
        })
        .collect()
}

/// Every IAM-relevant statement of a template.
pub fn statements(template: &Value) -> Vec<Stmt> {
    let mut out = vec![];
    for (id, r) in resources(template) {
        let props = properties(r);
        match type_of(r) {
            Role::TYPE => {
                let role = format!("AWS:${{{id}}}");
                if let Some(doc) = props.get("AssumeRolePolicyDocument") {
                    out.extend(statements_of(doc, id, None, Some(&format!("${{{id}}}"))));
                }
                if let Some(Value::Array(policies)) = props.get("Policies") {
                    for p in policies {
                        if let Some(doc) = p.get("PolicyDocument") {
                            out.extend(statements_of(doc, id, Some(&role), None));
                        }
                    }
                }
                if let Some(Value::Array(arns)) = props.get("ManagedPolicyArns") {
                    for a in arns {
                        out.push(Stmt {
                            source: id.clone(),
                            effect: "Allow".into(),
                            principals: vec![role.clone()],
                            actions: vec![format!("(managed policy {})", render(a))],
                            resources: vec!["*".into()],
                            conditions: vec![],
                            negated: true,
                        });
                    }
                }
            }
            // Inline and managed policies attached to roles, users or groups.
            "AWS::IAM::Policy" | "AWS::IAM::ManagedPolicy" => {
                let mut roles = strings(props.get("Roles"));
                roles.extend(strings(props.get("Users")));
                roles.extend(strings(props.get("Groups")));
                if let Some(doc) = props.get("PolicyDocument") {
                    for role in roles {
                        out.extend(statements_of(doc, id, Some(&format!("AWS:{role}")), None));
                    }
                }
            }
            "AWS::IAM::RolePolicy" | "AWS::IAM::UserPolicy" | "AWS::IAM::GroupPolicy" => {
                let owner = ["RoleName", "UserName", "GroupName"]
                    .iter()
                    .find_map(|k| props.get(*k))
                    .map(render)
                    .unwrap_or_default();
                if let Some(doc) = props.get("PolicyDocument") {
                    out.extend(statements_of(doc, id, Some(&format!("AWS:{owner}")), None));
                }
            }
            // Resource policies name their principals themselves.
            "AWS::S3::BucketPolicy" | "AWS::SNS::TopicPolicy" | "AWS::SQS::QueuePolicy" => {
                if let Some(doc) = props.get("PolicyDocument") {
                    out.extend(statements_of(doc, id, None, None));
                }
            }
            // Anonymous entry points are access for everyone.
            Route::TYPE => {
                let auth = props
                    .get("AuthorizationType")
                    .map(render)
                    .unwrap_or_else(|| "NONE".into());
                if auth == "NONE" {
                    out.push(anonymous(id, "execute-api:Invoke", props.get("RouteKey")));
                }
            }
            "AWS::Lambda::Url" if props.get("AuthType").map(render).as_deref() == Some("NONE") => {
                out.push(anonymous(
                    id,
                    "lambda:InvokeFunctionUrl",
                    props.get("TargetFunctionArn"),
                ));
            }
            KmsKey::TYPE => {
                if let Some(doc) = props.get("KeyPolicy") {
                    out.extend(statements_of(doc, id, None, Some(&format!("${{{id}}}"))));
                }
            }
            Permission::TYPE => {
                let mut conditions = vec![];
                if let Some(arn) = props.get("SourceArn") {
                    conditions.push(format!("ArnLike AWS:SourceArn: {}", render(arn)));
                }
                if let Some(acct) = props.get("SourceAccount") {
                    conditions.push(format!("StringEquals AWS:SourceAccount: {}", render(acct)));
                }
                out.push(Stmt {
                    source: id.clone(),
                    effect: "Allow".into(),
                    principals: vec![render(props.get("Principal").unwrap_or(&Value::Null))],
                    actions: strings(props.get("Action")),
                    resources: strings(props.get("FunctionName")),
                    conditions,
                    negated: false,
                });
            }
            _ => {}
        }
    }
    out.sort();
    out
}

/// An Allow for everyone (`*`), as an unauthenticated route or URL amounts to.
fn anonymous(id: &str, action: &str, resource: Option<&Value>) -> Stmt {
    Stmt {
        source: id.to_string(),
        effect: "Allow".into(),
        principals: vec!["*".into()],
        actions: vec![action.into()],
        resources: vec![resource.map(render).unwrap_or_default()],
        conditions: vec![],
        negated: false,
    }
}

/// IAM-style wildcard match (`*` any run, `?` one character), case-insensitive for actions.
pub fn glob(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let (mut pi, mut ti, mut star, mut mark) = (0usize, 0usize, None::<usize>, 0usize);
    while ti < t.len() {
        // A `?` stands for one character, never for a wildcard in the text:
        // `b/?` does not cover `b/*`.
        if pi < p.len() && ((p[pi] == '?' && t[ti] != '*' && t[ti] != '?') || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == '*' {
        pi += 1;
    }
    pi == p.len()
}

/// Does some statement in `pool` (same effect) cover (principal, action, resource)
/// under conditions no stronger than `conds`?
fn covered(
    pool: &[&Stmt],
    effect: &str,
    principal: &str,
    action: &str,
    resource: &str,
    conds: &[String],
) -> bool {
    pool.iter().any(|s| {
        s.effect == effect
            && !s.negated
            && s.principals.iter().any(|p| p == principal || p == "*" || p == "AWS:*")
            && s.actions.iter().any(|a| glob(&a.to_ascii_lowercase(), &action.to_ascii_lowercase()))
            && s.resources.iter().any(|r| glob(r, resource))
            // Covers only when each of its conditions is also on the grant being
            // checked: an old Allow whose conditions are all still required, or a
            // remaining Deny with no more conditions than the removed one.
            && s.conditions.iter().all(|c| conds.contains(c))
    })
}

fn triples(s: &Stmt) -> Vec<(String, String, String)> {
    let principals = if s.principals.is_empty() {
        vec![String::new()]
    } else {
        s.principals.clone()
    };
    let resources = if s.resources.is_empty() {
        vec![String::new()]
    } else {
        s.resources.clone()
    };
    let mut out = vec![];
    for p in &principals {
        for a in &s.actions {
            for r in &resources {
                out.push((p.clone(), a.clone(), r.clone()));
            }
        }
    }
    out
}

/// Statement changes from `old` to `new` (either may be `Value::Null`: no stack).
pub fn diff(old: &Value, new: &Value) -> Vec<IamChange> {
    let old_s = statements(old);
    let new_s = statements(new);
    let old_set: BTreeSet<&Stmt> = old_s.iter().collect();
    let new_set: BTreeSet<&Stmt> = new_s.iter().collect();
    let old_allow: Vec<&Stmt> = old_s.iter().filter(|s| s.effect == "Allow").collect();
    let new_deny: Vec<&Stmt> = new_s.iter().filter(|s| s.effect == "Deny").collect();
    let mut out = vec![];
    for s in &new_s {
        if old_set.contains(s) {
            continue;
        }
        let widening = s.effect == "Allow"
            && (s.negated
                || triples(s)
                    .iter()
                    .any(|(p, a, r)| !covered(&old_allow, "Allow", p, a, r, &s.conditions)));
        out.push(IamChange {
            sign: Sign::Added,
            stmt: s.clone(),
            widening,
        });
    }
    for s in &old_s {
        if new_set.contains(s) {
            continue;
        }
        let widening = s.effect == "Deny"
            && (s.negated
                || triples(s)
                    .iter()
                    .any(|(p, a, r)| !covered(&new_deny, "Deny", p, a, r, &s.conditions)));
        out.push(IamChange {
            sign: Sign::Removed,
            stmt: s.clone(),
            widening,
        });
    }
    out
}

impl IamChange {
    /// The change as `plan --json` and `diff --json` report it.
    pub fn to_json(&self) -> Value {
        serde_json::json!({
            "change": if self.sign == Sign::Added { "added" } else { "removed" },
            "widening": self.widening, "effect": self.stmt.effect, "actions": self.stmt.actions,
            "resources": self.stmt.resources, "principals": self.stmt.principals, "conditions": self.stmt.conditions,
        })
    }

    /// `+`, `- (widening)`, ...: the first column of the IAM table.
    pub fn label(&self) -> &'static str {
        match (self.sign, self.widening) {
            (Sign::Added, true) => "+ (widening)",
            (Sign::Added, false) => "+",
            (Sign::Removed, true) => "- (widening)",
            (Sign::Removed, false) => "-",
        }
    }
}

/// True when any change widens access.
pub fn widens(changes: &[IamChange]) -> bool {
    changes.iter().any(|c| c.widening)
}
