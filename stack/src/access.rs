//! A small evaluator of IAM identity policies and KMS key policies: enough to
//! decide whether each request the deployed system makes is allowed by the
//! synthesized role policies and key policy. No emulator enforces these (moto
//! and MiniStack skip KMS condition keys), so the tests evaluate them here.
//!
//! The rules it applies, as AWS documents them:
//! - an explicit `Deny` wins over any `Allow`; with no `Allow` the request
//!   is implicitly denied
//!   (<https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html>);
//! - a KMS key policy is the key's primary access control: a statement that
//!   names the principal (or service) allows on its own; a statement naming
//!   the account (`arn:<partition>:iam::<account>:root`) only lets IAM
//!   policies of that account grant access, and only for requests meeting its
//!   conditions; without either, identity policies have no effect
//!   (<https://docs.aws.amazon.com/kms/latest/developerguide/determining-access-key-policy.html>,
//!   <https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-default.html>);
//! - conditions: every operator block must match (AND), every key in a block
//!   must match (AND), any of a key's values may match (OR); a missing key
//!   fails unless the operator ends in `IfExists`; `ForAllValues:` is true
//!   when the key is missing or empty, `ForAnyValue:` is false then; `Null`
//!   tests presence; `Bool` compares `true`/`false` case-insensitively
//!   (<https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_logic_multiple_context_keys_or_values.html>,
//!   <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-single-vs-multi-valued-context-keys.html>);
//! - `ArnEquals`/`ArnLike` compare the six colon-separated parts, each
//!   with `*`/`?` wildcards; `StringLike` allows them across the string; action
//!   names are case-insensitive
//!   (<https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html>).
//!
//! Policies must be resolved first (no intrinsics; see [`crate::resolve`]).
//! Anything outside this set (`NotAction`, `NotPrincipal`, other operators)
//! is an error, never a guess.

use serde_json::Value;
use std::collections::BTreeMap;

/// Who makes the request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Caller {
    /// An IAM role (a Lambda execution role, the deployer).
    Role { arn: String, account: String },
    /// An AWS service principal, e.g. `logs.us-east-1.amazonaws.com`.
    Service(String),
    /// A web identity from an OIDC provider (its ARN), e.g. GitHub Actions'.
    Federated(String),
}

/// One request: caller, action, resource and the condition keys it carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub caller: Caller,
    pub action: String,
    pub resource: String,
    /// Condition keys; multivalued ones (`kms:EncryptionContextKeys`) hold several values.
    pub context: BTreeMap<String, Vec<String>>,
}

impl Request {
    /// A request by role `role_arn`; fills `aws:PrincipalArn`,
    /// `aws:PrincipalAccount` and `kms:CallerAccount`.
    pub fn by_role(role_arn: &str, action: &str, resource: &str) -> Self {
        let account = role_arn.split(':').nth(4).unwrap_or_default().to_string();
        let mut r = Request {
            caller: Caller::Role {
                arn: role_arn.to_string(),
                account: account.clone(),
            },
            action: action.to_string(),
            resource: resource.to_string(),
            context: BTreeMap::new(),
        };
        r = r.with("aws:PrincipalArn", role_arn);
        r = r.with("aws:PrincipalAccount", &account);
        r.with("kms:CallerAccount", &account)
    }

    /// A request by an AWS service principal.
    pub fn by_service(service: &str, action: &str, resource: &str) -> Self {
        Request {
            caller: Caller::Service(service.to_string()),
            action: action.to_string(),
            resource: resource.to_string(),
            context: BTreeMap::new(),
        }
    }

    /// `sts:AssumeRoleWithWebIdentity` of `role_arn` with a token of the
    /// OIDC provider `provider_arn`, whose `aud` and `sub` claims are the
    /// condition keys `<provider host>:aud` and `:sub`
    /// (<https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_iam-condition-keys.html#condition-keys-wif>).
    pub fn by_web_identity(provider_arn: &str, role_arn: &str, aud: &str, sub: &str) -> Self {
        let host = provider_arn
            .rsplit_once("oidc-provider/")
            .map_or("", |(_, h)| h);
        Request {
            caller: Caller::Federated(provider_arn.to_string()),
            action: "sts:AssumeRoleWithWebIdentity".into(),
            resource: role_arn.to_string(),
            context: BTreeMap::new(),
        }
        .with(&format!("{host}:aud"), aud)
        .with(&format!("{host}:sub"), sub)
    }

    /// Sets a single-valued condition key.
    pub fn with(mut self, key: &str, value: &str) -> Self {
        self.context
            .insert(key.to_string(), vec![value.to_string()]);
        self
    }

    /// The request came through `service` (e.g. `dynamodb.us-east-1.amazonaws.com`).
    pub fn via(self, service: &str) -> Self {
        self.with("kms:ViaService", service)
    }

    /// A KMS encryption context: `kms:EncryptionContext:<k>` per pair and
    /// the multivalued `kms:EncryptionContextKeys`.
    pub fn encryption_context<K: AsRef<str>, V: AsRef<str>>(mut self, pairs: &[(K, V)]) -> Self {
        for (k, v) in pairs {
            self = self.with(&format!("kms:EncryptionContext:{}", k.as_ref()), v.as_ref());
        }
        self.context.insert(
            "kms:EncryptionContextKeys".into(),
            pairs.iter().map(|(k, _)| k.as_ref().to_string()).collect(),
        );
        self
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Allow,
    ImplicitDeny,
    ExplicitDeny,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EvalError {
    #[error("the evaluator does not support {0}")]
    Unsupported(String),
    #[error("malformed policy: {0}")]
    Malformed(String),
}

/// Access to a resource without a resource policy (a DynamoDB table here):
/// the caller's identity policies decide.
pub fn evaluate_identity(req: &Request, identity: &[&Value]) -> Result<Decision, EvalError> {
    let (allow, deny) = identity_matches(req, identity)?;
    Ok(if deny {
        Decision::ExplicitDeny
    } else if allow {
        Decision::Allow
    } else {
        Decision::ImplicitDeny
    })
}

/// Access to a KMS key: its key policy, and the caller's identity policies
/// where the key policy lets the account delegate.
pub fn evaluate_kms(
    req: &Request,
    key_policy: &Value,
    identity: &[&Value],
) -> Result<Decision, EvalError> {
    let mut direct = false;
    let mut delegated = false;
    for st in statements(key_policy)? {
        let Some(by) = principal_match(st, &req.caller)? else {
            continue;
        };
        if !applies(st, req)? {
            continue;
        }
        match (effect(st)?, by) {
            (Effect::Deny, _) => return Ok(Decision::ExplicitDeny),
            (Effect::Allow, By::Principal) => direct = true,
            (Effect::Allow, By::Account) => delegated = true,
        }
    }
    let (identity_allow, identity_deny) = identity_matches(req, identity)?;
    Ok(if identity_deny {
        Decision::ExplicitDeny
    } else if direct || (delegated && identity_allow) {
        Decision::Allow
    } else {
        Decision::ImplicitDeny
    })
}

/// Whether a role's trust policy lets `req`'s caller assume it (the
/// request's resource is the role): an explicit deny wins, else a matching
/// allow. Trust policy statements have no `Resource`; they apply to the role.
pub fn evaluate_trust(req: &Request, trust_policy: &Value) -> Result<Decision, EvalError> {
    let mut allow = false;
    for st in statements(trust_policy)? {
        if principal_match(st, &req.caller)?.is_none() {
            continue;
        }
        let mut st = st.clone();
        if let Value::Object(m) = &mut st {
            m.entry("Resource")
                .or_insert_with(|| Value::String(req.resource.clone()));
        }
        if !applies(&st, req)? {
            continue;
        }
        match effect(&st)? {
            Effect::Deny => return Ok(Decision::ExplicitDeny),
            Effect::Allow => allow = true,
        }
    }
    Ok(if allow {
        Decision::Allow
    } else {
        Decision::ImplicitDeny
    })
}

fn identity_matches(req: &Request, identity: &[&Value]) -> Result<(bool, bool), EvalError> {
    let (mut allow, mut deny) = (false, false);
    if !matches!(req.caller, Caller::Role { .. }) {
        return Ok((false, false));
    }
    for doc in identity {
        for st in statements(doc)? {
            if st.get("Principal").is_some() {
                return Err(EvalError::Malformed(
                    "an identity policy statement names a Principal".into(),
                ));
            }
            if applies(st, req)? {
                match effect(st)? {
                    Effect::Allow => allow = true,
                    Effect::Deny => deny = true,
                }
            }
        }
    }
    Ok((allow, deny))
}

#[derive(Clone, Copy)]
enum Effect {
    Allow,
    Deny,
}

/// How a key-policy statement's principal covers the caller.
#[derive(Clone, Copy)]
enum By {
    Principal,
    Account,
}

/// The elements a statement may have; anything else (a misspelt
/// `Condition`) is an error, never a statement read without it
/// (<https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements.html>).
const STATEMENT_ELEMENTS: &[&str] = &[
    "Sid",
    "Effect",
    "Principal",
    "NotPrincipal",
    "Action",
    "NotAction",
    "Resource",
    "NotResource",
    "Condition",
];

fn statements(doc: &Value) -> Result<Vec<&Value>, EvalError> {
    let list: Vec<&Value> = match doc.get("Statement") {
        Some(Value::Array(a)) => a.iter().collect(),
        Some(st @ Value::Object(_)) => vec![st],
        _ => return Err(EvalError::Malformed("a policy without Statement".into())),
    };
    for st in &list {
        let Value::Object(m) = st else {
            return Err(EvalError::Malformed(format!("statement {st}")));
        };
        if let Some(k) = m.keys().find(|k| !STATEMENT_ELEMENTS.contains(&k.as_str())) {
            return Err(EvalError::Malformed(format!(
                "unknown statement element {k}"
            )));
        }
    }
    Ok(list)
}

fn effect(st: &Value) -> Result<Effect, EvalError> {
    match st.get("Effect").and_then(Value::as_str) {
        Some("Allow") => Ok(Effect::Allow),
        Some("Deny") => Ok(Effect::Deny),
        other => Err(EvalError::Malformed(format!("Effect {other:?}"))),
    }
}

fn strings(v: &Value) -> Result<Vec<String>, EvalError> {
    match v {
        Value::String(s) => Ok(vec![s.clone()]),
        Value::Bool(b) => Ok(vec![b.to_string()]),
        Value::Array(a) => a
            .iter()
            .map(|x| match x {
                Value::String(s) => Ok(s.clone()),
                Value::Bool(b) => Ok(b.to_string()),
                other => Err(EvalError::Malformed(format!("value {other}"))),
            })
            .collect(),
        other => Err(EvalError::Malformed(format!("value {other}"))),
    }
}

fn principal_match(st: &Value, caller: &Caller) -> Result<Option<By>, EvalError> {
    for unsupported in ["NotPrincipal", "NotAction", "NotResource"] {
        if st.get(unsupported).is_some() {
            return Err(EvalError::Unsupported(unsupported.into()));
        }
    }
    let principal = st
        .get("Principal")
        .ok_or_else(|| EvalError::Malformed("a key policy statement without Principal".into()))?;
    if principal == "*" {
        return Ok(Some(By::Principal));
    }
    let Value::Object(p) = principal else {
        return Err(EvalError::Malformed(format!("Principal {principal}")));
    };
    for (kind, v) in p {
        for name in strings(v)? {
            match (kind.as_str(), caller) {
                ("AWS", _) if name == "*" => return Ok(Some(By::Principal)),
                ("AWS", Caller::Role { arn, .. }) if &name == arn => {
                    return Ok(Some(By::Principal))
                }
                ("AWS", Caller::Role { account, .. })
                    if &name == account
                        || (name.ends_with(&format!(":iam::{account}:root"))
                            && name.starts_with("arn:")) =>
                {
                    return Ok(Some(By::Account))
                }
                ("Service", Caller::Service(s)) if &name == s => return Ok(Some(By::Principal)),
                ("Federated", Caller::Federated(p)) if &name == p => {
                    return Ok(Some(By::Principal))
                }
                ("AWS" | "Service" | "Federated", _) => {}
                (other, _) => return Err(EvalError::Unsupported(format!("Principal {other}"))),
            }
        }
    }
    Ok(None)
}

/// Action, resource and conditions of `st` match `req` (principal aside).
fn applies(st: &Value, req: &Request) -> Result<bool, EvalError> {
    for unsupported in ["NotAction", "NotResource"] {
        if st.get(unsupported).is_some() {
            return Err(EvalError::Unsupported(unsupported.into()));
        }
    }
    let actions = strings(
        st.get("Action")
            .ok_or_else(|| EvalError::Malformed("a statement without Action".into()))?,
    )?;
    if !actions
        .iter()
        .any(|a| glob(&a.to_ascii_lowercase(), &req.action.to_ascii_lowercase()))
    {
        return Ok(false);
    }
    let resources = strings(
        st.get("Resource")
            .ok_or_else(|| EvalError::Malformed("a statement without Resource".into()))?,
    )?;
    if !resources.iter().any(|r| glob(r, &req.resource)) {
        return Ok(false);
    }
    match st.get("Condition") {
        None => Ok(true),
        Some(Value::Object(blocks)) => {
            for (operator, keys) in blocks {
                let Value::Object(keys) = keys else {
                    return Err(EvalError::Malformed(format!("Condition {operator}")));
                };
                for (key, values) in keys {
                    // Condition key names are not case-sensitive.
                    let given = req
                        .context
                        .iter()
                        .find(|(k, _)| k.eq_ignore_ascii_case(key))
                        .map(|(_, v)| v);
                    if !condition(operator, given, &strings(values)?)? {
                        return Ok(false);
                    }
                }
            }
            Ok(true)
        }
        Some(other) => Err(EvalError::Malformed(format!("Condition {other}"))),
    }
}

/// One condition key under one operator.
fn condition(
    operator: &str,
    request: Option<&Vec<String>>,
    values: &[String],
) -> Result<bool, EvalError> {
    let present = request.is_some_and(|v| !v.is_empty());
    if operator == "Null" {
        let want_absent = values
            .first()
            .is_some_and(|v| v.eq_ignore_ascii_case("true"));
        return Ok(want_absent != present);
    }
    let (set, rest) = if let Some(r) = operator.strip_prefix("ForAllValues:") {
        (Some(true), r)
    } else if let Some(r) = operator.strip_prefix("ForAnyValue:") {
        (Some(false), r)
    } else {
        (None, operator)
    };
    let (base, if_exists) = match rest.strip_suffix("IfExists") {
        Some(b) => (b, true),
        None => (rest, false),
    };
    let matcher: fn(&str, &str) -> bool = match base {
        "StringEquals" => |p, v| p == v,
        "Bool" => |p, v| p.eq_ignore_ascii_case(v),
        "StringLike" => glob,
        "ArnEquals" | "ArnLike" => arn_like,
        other => {
            return Err(EvalError::Unsupported(format!(
                "condition operator {other}"
            )))
        }
    };
    let hit = |v: &String| values.iter().any(|p| matcher(p, v));
    Ok(match (set, request) {
        (Some(true), None) => true,
        (Some(true), Some(vs)) => vs.iter().all(hit),
        (Some(false), None) => false,
        (Some(false), Some(vs)) => vs.iter().any(hit),
        (None, _) if !present => if_exists,
        (None, Some(vs)) => vs.iter().any(hit),
        (None, None) => unreachable!("absent handled above"),
    })
}

/// `*` and `?` wildcards over the whole string, case-sensitive.
fn glob(pattern: &str, value: &str) -> bool {
    let (p, v): (Vec<char>, Vec<char>) = (pattern.chars().collect(), value.chars().collect());
    // Classic two-pointer match with backtracking to the last `*`.
    let (mut i, mut j, mut star, mut mark) = (0, 0, None, 0);
    while j < v.len() {
        if i < p.len() && (p[i] == '?' || p[i] == v[j]) {
            i += 1;
            j += 1;
        } else if i < p.len() && p[i] == '*' {
            star = Some(i);
            mark = j;
            i += 1;
        } else if let Some(s) = star {
            i = s + 1;
            mark += 1;
            j = mark;
        } else {
            return false;
        }
    }
    p[i..].iter().all(|c| *c == '*')
}

/// ARN comparison: the six colon-separated parts, each a [`glob`].
fn arn_like(pattern: &str, value: &str) -> bool {
    let p: Vec<&str> = pattern.splitn(6, ':').collect();
    let v: Vec<&str> = value.splitn(6, ':').collect();
    p.len() == 6 && v.len() == 6 && p.iter().zip(&v).all(|(p, v)| glob(p, v))
}

/// The synthesized stack's policies, resolved for one account and region
/// and one set of parameter values (conditions decide which roles and
/// statements exist): each role's inline policies and the key policy.
#[derive(Debug, Clone)]
pub struct StackPolicies {
    pub key_arn: String,
    pub key_policy: Value,
    /// Role logical id → (role ARN, inline policy documents).
    pub roles: BTreeMap<String, (String, Vec<Value>)>,
}

impl StackPolicies {
    pub fn resolve(
        t: &crate::Template,
        place: &crate::resolve::Place,
        params: &BTreeMap<String, String>,
        key_id: &str,
    ) -> Result<Self, crate::resolve::ResolveError> {
        use crate::resources::Properties;
        let key_arn = place.arn("kms", &format!("key/{key_id}"));
        let r = crate::resolve::Resolver::new(t, place, params, key_id, &key_arn);
        let mut key_policy = Value::Null;
        let mut roles = BTreeMap::new();
        for (id, res) in &t.resources {
            // A resource whose condition is false is not deployed.
            if let Some(c) = &res.condition {
                if !r
                    .condition(c)
                    .ok_or_else(|| crate::resolve::ResolveError::NoCondition(c.clone()))?
                {
                    continue;
                }
            }
            match &res.properties {
                Properties::KmsKey(k) => key_policy = r.value(&k.key_policy)?,
                Properties::Role(role) => {
                    let docs = role
                        .policies
                        .iter()
                        .map(|p| r.value(&p.policy_document))
                        .collect::<Result<_, _>>()?;
                    roles.insert(
                        id.clone(),
                        (place.iam_arn(&format!("role/{}", role.role_name)), docs),
                    );
                }
                _ => {}
            }
        }
        Ok(StackPolicies {
            key_arn,
            key_policy,
            roles,
        })
    }

    /// The decision for `req` made by the role `role_id` (its inline
    /// policies apply) or by a caller outside the stack's roles (`None`).
    pub fn decide(&self, role_id: Option<&str>, req: &Request) -> Result<Decision, EvalError> {
        let identity: Vec<&Value> = role_id
            .and_then(|r| self.roles.get(r))
            .map(|(_, docs)| docs.iter().collect())
            .unwrap_or_default();
        if req.resource == self.key_arn {
            evaluate_kms(req, &self.key_policy, &identity)
        } else {
            evaluate_identity(req, &identity)
        }
    }
}

#[cfg(test)]
mod tests;
