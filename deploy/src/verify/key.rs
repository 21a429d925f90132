//! The stack's KMS key: the one key the tables, the function environments
//! and the per-session data keys must use.
//!
//! The key's physical id is its key id (the `Ref` value of AWS::KMS::Key,
//! https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-kms-key.html);
//! DescribeKey gives its ARN, which is what DynamoDB reports as
//! `SSEDescription.KMSMasterKeyArn`.

use super::check::{call_failed, Check};
use super::resources::StackResources;
use aws_sdk_kms::types::{KeyManagerType, KeyState};
use stack::module::ids;

/// The key the stack created.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StackKey {
    /// Key id (a UUID).
    pub id: String,
    /// Its ARN, when DescribeKey could tell.
    pub arn: Option<String>,
}

impl StackKey {
    /// From the physical id (a key id; an ARN is accepted too).
    pub fn from_physical_id(physical_id: &str) -> Self {
        match key_id_of_arn(physical_id) {
            Some(id) => StackKey {
                id: id.to_string(),
                arn: Some(physical_id.to_string()),
            },
            None => StackKey {
                id: physical_id.to_string(),
                arn: None,
            },
        }
    }

    /// True when `arn` names this key: the same ARN, or (ARN unknown) the
    /// same key id after `:key/`. A bare key id equal to ours matches too:
    /// AWS reports ARNs, but moto reports the id it was given.
    pub fn matches(&self, arn: &str) -> bool {
        if arn == self.id {
            return true;
        }
        match &self.arn {
            Some(mine) => mine == arn,
            None => key_id_of_arn(arn) == Some(self.id.as_str()),
        }
    }

    /// The ARN when known, else the id.
    pub fn shown(&self) -> &str {
        self.arn.as_deref().unwrap_or(&self.id)
    }
}

/// `arn:aws:kms:us-east-1:111122223333:key/<id>` → `<id>`.
pub fn key_id_of_arn(arn: &str) -> Option<&str> {
    arn.strip_prefix("arn:")?
        .rsplit_once(":key/")
        .map(|(_, id)| id)
        .filter(|id| !id.is_empty())
}

/// Finds the stack's key and checks it (see [`verify_key`]).
pub async fn verify_stack_key(
    kms: &aws_sdk_kms::Client,
    resources: &StackResources,
) -> (Option<StackKey>, Vec<Check>) {
    match resources.physical_id(ids::KEY) {
        Some(id) => verify_key(kms, id).await,
        None => (
            None,
            vec![Check::fail(
                "KMS key",
                format!("the stack has no {} resource", ids::KEY),
            )],
        ),
    }
}

/// Customer managed and enabled (DescribeKey), rotation on
/// (GetKeyRotationStatus). The key is returned even when a call was denied:
/// the tables can still be compared by key id.
pub async fn verify_key(kms: &aws_sdk_kms::Client, key_id: &str) -> (Option<StackKey>, Vec<Check>) {
    let mut key = StackKey::from_physical_id(key_id);
    let mut out = vec![];
    let name = format!("KMS key {key_id} customer managed and enabled");
    match kms.describe_key().key_id(key_id).send().await {
        Ok(d) => match d.key_metadata() {
            Some(m) => {
                if let Some(arn) = m.arn() {
                    key.arn = Some(arn.to_string());
                }
                let ok = m.key_manager() == Some(&KeyManagerType::Customer)
                    && m.key_state() == Some(&KeyState::Enabled);
                out.push(Check::ok_if(
                    name,
                    ok,
                    format!(
                        "{}: manager {}, state {}",
                        key.shown(),
                        m.key_manager().map_or("?", |k| k.as_str()),
                        m.key_state().map_or("?", |s| s.as_str())
                    ),
                ));
            }
            None => out.push(Check::fail(name, "DescribeKey returned no key metadata")),
        },
        Err(e) => out.push(call_failed(name, "kms:DescribeKey", &e)),
    }
    let name = "KMS key rotation";
    match kms.get_key_rotation_status().key_id(key_id).send().await {
        Ok(r) => out.push(Check::ok_if(
            name,
            r.key_rotation_enabled(),
            if r.key_rotation_enabled() {
                "on"
            } else {
                "rotation is off: `aws kms enable-key-rotation --key-id <key>`, or redeploy"
            },
        )),
        Err(e) => out.push(call_failed(name, "kms:GetKeyRotationStatus", &e)),
    }
    (Some(key), out)
}

/// Who manages the key `arn` (to say "AWS managed" rather than "another
/// key"); `None` when it cannot be described.
pub async fn manager_of(kms: &aws_sdk_kms::Client, arn: &str) -> Option<KeyManagerType> {
    kms.describe_key()
        .key_id(arn)
        .send()
        .await
        .ok()?
        .key_metadata()?
        .key_manager()
        .cloned()
}
