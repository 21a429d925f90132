//! The AWS actions each function's code performs. The stack grants exactly
//! these (see `module.rs`), and the functions' least-privilege test records
//! every operation the code makes and checks the set equals this list.
//!
//! Keep this file in step with `functions/src/store.rs`, `crypto.rs` and
//! `api.rs` (owned by the functions crate; checked by its least-privilege test).

/// DynamoDB actions of `voice-learning-session-persistence`, on the sessions
/// table (and its `UserSessionIndex` for `Query`) and the user-profiles table.
pub const SESSION_PERSISTENCE_SESSIONS_TABLE: &[&str] = &[
    "dynamodb:BatchWriteItem",
    "dynamodb:DeleteItem",
    "dynamodb:GetItem",
    "dynamodb:PutItem",
    "dynamodb:Query",
    "dynamodb:UpdateItem",
];
/// Of those, the ones that touch `UserSessionIndex` (granted on the index ARN).
pub const SESSION_PERSISTENCE_INDEX: &[&str] = &["dynamodb:Query"];
pub const SESSION_PERSISTENCE_PROFILES_TABLE: &[&str] = &["dynamodb:GetItem"];

/// DynamoDB actions of `voice-learning-context-manager` (sessions table only).
pub const CONTEXT_MANAGER_SESSIONS_TABLE: &[&str] = &[
    "dynamodb:BatchWriteItem",
    "dynamodb:GetItem",
    "dynamodb:PutItem",
    "dynamodb:Query",
    "dynamodb:UpdateItem",
];
pub const CONTEXT_MANAGER_INDEX: &[&str] = &[];
pub const CONTEXT_MANAGER_PROFILES_TABLE: &[&str] = &[];

/// KMS actions of `voice-learning-session-persistence`: `create` wraps a new
/// session's data key (`kms:Encrypt`); `restore` unwraps it to return the
/// context window (`kms:Decrypt`). Both under the encryption context
/// `{sessionId, userId}`.
pub const SESSION_PERSISTENCE_KMS: &[&str] = &["kms:Decrypt", "kms:Encrypt"];

/// KMS actions of `voice-learning-context-manager`: every action unwraps the
/// session's data key (`kms:Decrypt`); `clear` wraps the new generation's key
/// (`kms:Encrypt`). Both under the encryption context `{sessionId, userId}`.
pub const CONTEXT_MANAGER_KMS: &[&str] = &["kms:Decrypt", "kms:Encrypt"];

/// The encryption-context keys the KMS grant requires.
pub const ENCRYPTION_CONTEXT_KEYS: &[&str] = &["sessionId", "userId"];

/// What CloudWatch Logs does with the key for an encrypted log group: the
/// documented `kms:Encrypt*`, `kms:Decrypt*`, `kms:ReEncrypt*` and
/// `kms:GenerateDataKey*` with each wildcard expanded to the actions on a
/// key that match it
/// (<https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/encrypt-log-data-kms.html>).
/// The documented `kms:Describe*` is left out: the statement's condition is
/// the log group's encryption context, which a `DescribeKey` request never
/// carries (the service authorization reference lists no encryption-context
/// key for it), so it could not grant it anyway.
pub const LOGS_KEY: &[&str] = &[
    "kms:Decrypt",
    "kms:Encrypt",
    "kms:GenerateDataKey",
    "kms:GenerateDataKeyPair",
    "kms:GenerateDataKeyPairWithoutPlaintext",
    "kms:GenerateDataKeyWithoutPlaintext",
    "kms:ReEncryptFrom",
    "kms:ReEncryptTo",
];

/// Service-side KMS use: what DynamoDB does with the table key *as the role*
/// that reads or writes a table encrypted with the customer-managed key.
/// These are not calls the code makes (the least-privilege test compares the
/// recorded SDK calls with the direct lists above); they are granted on top,
/// each conditioned on `kms:ViaService` = DynamoDB in the stack's region and
/// the table's name in the encryption context.
///
/// DynamoDB decrypts a table's key with the caller's identity and caches it
/// per principal for up to five minutes; the principal "must have the
/// permissions on the customer managed key that DynamoDB requires", with the
/// encryption context `aws:dynamodb:tableName` + `aws:dynamodb:subscriberId`
/// (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/encryption.howitworks.html,
/// "Table keys", "Key policy for a customer managed key", "Encryption
/// context"). Reading needs the key decrypted; writing may also make DynamoDB
/// encrypt or re-encrypt with it, so a writer gets the developer guide's
/// list (`kms:Encrypt`, `kms:ReEncrypt*`, `kms:GenerateDataKey*`), spelled
/// out action by action, never `*`. `kms:CreateGrant` is left out: DynamoDB
/// creates its grant when the table is created, as the deployer.
pub const TABLE_KEY_READ: &[&str] = &["kms:Decrypt"];
pub const TABLE_KEY_WRITE: &[&str] = &[
    "kms:Decrypt",
    "kms:Encrypt",
    "kms:GenerateDataKey",
    "kms:GenerateDataKeyWithoutPlaintext",
    "kms:ReEncryptFrom",
    "kms:ReEncryptTo",
];
/// DynamoDB describes the key (no encryption context in that request, so
/// it gets its own statement with the `kms:ViaService` condition only).
pub const TABLE_KEY_DESCRIBE: &[&str] = &["kms:DescribeKey"];

/// DynamoDB actions that change items: a role using any of them on a table
/// is a writer of that table's key.
const WRITE_ACTIONS: &[&str] = &[
    "dynamodb:BatchWriteItem",
    "dynamodb:DeleteItem",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
];

/// The KMS actions DynamoDB performs with the table key for a role whose
/// DynamoDB actions on that table are `table_actions` (empty: none).
pub fn table_key_actions(table_actions: &[&str]) -> &'static [&'static str] {
    if table_actions.is_empty() {
        &[]
    } else if table_actions.iter().any(|a| WRITE_ACTIONS.contains(a)) {
        TABLE_KEY_WRITE
    } else {
        TABLE_KEY_READ
    }
}

// ---------------------------------------------------------------- AWS Backup
//
// What AWS Backup does as the stack's backup role (only with
// `BackupRetentionDays` > 0). The developer guide's "Managed policies for
// AWS Backup" lists, for a customer managed DynamoDB policy, the statements
// to start from: for backup `DynamoDBPermissions`,
// `DynamoDBBackupResourcePermissions`, `DynamodbBackupPermissions`,
// `KMSDynamoDBPermissions` of AWSBackupServiceRolePolicyForBackup; for
// restore `DynamoDBPermissions`, `DynamoDBBackupResourcePermissions`,
// `DynamoDBRestorePermissions`, `KMSPermissions` of
// AWSBackupServiceRolePolicyForRestores, plus its `KMSDescribePermissions`
// and `KMSCreateGrantPermissions` to restore an encrypted backup
// (https://docs.aws.amazon.com/aws-backup/latest/devguide/security-iam-awsmanpol.html,
// https://docs.aws.amazon.com/aws-managed-policy/latest/reference/AWSBackupServiceRolePolicyForBackup.html,
// https://docs.aws.amazon.com/aws-managed-policy/latest/reference/AWSBackupServiceRolePolicyForRestores.html).
// The managed policies grant them on every table and key (`table/*`, `*`);
// the role here names the two tables, their backups, copies restored next
// to them and the stack's key. Each action is spelt out, never `*`.

/// On each table: describe it, read its tags, and back it up (an AWS Backup
/// job with advanced DynamoDB backup, the default since November 2021,
/// else a DynamoDB on-demand backup).
pub const BACKUP_TABLES: &[&str] = &[
    "dynamodb:CreateBackup",
    "dynamodb:DescribeTable",
    "dynamodb:ListTagsOfResource",
    "dynamodb:StartAwsBackupJob",
];
/// On each table's DynamoDB-managed backups (`<table ARN>/backup/<id>`):
/// describe them, delete them when the plan's retention ends, restore them.
pub const BACKUP_TABLE_BACKUPS: &[&str] = &[
    "dynamodb:DeleteBackup",
    "dynamodb:DescribeBackup",
    "dynamodb:RestoreTableFromBackup",
];
/// A restore creates a new table; AWS Backup writes it as the role. Only
/// tables named `<table><RESTORED_SUFFIX>…` can be restore targets, so the
/// role can never write to the live tables.
pub const RESTORE_TARGETS: &[&str] = &[
    "dynamodb:BatchWriteItem",
    "dynamodb:DeleteItem",
    "dynamodb:DescribeTable",
    "dynamodb:GetItem",
    "dynamodb:PutItem",
    "dynamodb:Query",
    "dynamodb:RestoreTableFromAwsBackup",
    "dynamodb:Scan",
    "dynamodb:UpdateItem",
];
/// The managed policy grants `RestoreTableFromAwsBackup` on `table/*` and
/// the DynamoDB guide on `*`, without saying whether the source or the new
/// table is authorized, so it is granted on the source tables too (a
/// restore never writes to an existing table).
pub const RESTORE_FROM_SOURCE_TABLES: &[&str] = &["dynamodb:RestoreTableFromAwsBackup"];
/// Restore targets are named `<table name>` + this + anything
/// (e.g. `voice-learning-sessions-restored-20250101`).
pub const RESTORED_SUFFIX: &str = "-restored";

/// The tables' key, through DynamoDB (`kms:ViaService`): DynamoDB reads a
/// table for a backup with the caller's identity, as it does for the
/// functions (see `TABLE_KEY_READ`), and, with advanced DynamoDB backup,
/// encrypts the backup with the vault's key, which is the same key here
/// (`kms:Decrypt`, `kms:GenerateDataKey`: `KMSDynamoDBPermissions`). A
/// restore re-encrypts the data under the new table's key (`KMSPermissions`
/// of the restore policy: the rest of this list).
pub const BACKUP_KEY_VIA_DYNAMODB: &[&str] = &[
    "kms:Decrypt",
    "kms:Encrypt",
    "kms:GenerateDataKey",
    "kms:GenerateDataKeyWithoutPlaintext",
    "kms:ReEncryptFrom",
    "kms:ReEncryptTo",
];
/// DynamoDB grants itself the key for a restored table, only for an AWS
/// resource (`kms:GrantIsForAWSResource`: `KMSCreateGrantPermissions`).
pub const BACKUP_KEY_GRANT: &[&str] = &["kms:CreateGrant"];
/// AWS Backup describes the vault's and the tables' key (`KMSPermissions` of
/// the backup policy, `KMSDescribePermissions` of the restore policy).
pub const BACKUP_KEY_DESCRIBE: &[&str] = &["kms:DescribeKey"];

/// Creating a vault encrypted with a customer managed key: what the caller
/// (CloudFormation, as the deployer) needs on the key, through AWS Backup
/// (https://docs.aws.amazon.com/aws-backup/latest/devguide/create-a-vault.html,
/// "Required permissions"). The key policy delegates these to the
/// account's IAM policies only via AWS Backup in the stack's region.
pub const BACKUP_VAULT_KEY: &[&str] = &[
    "kms:CreateGrant",
    "kms:Decrypt",
    "kms:DescribeKey",
    "kms:GenerateDataKey",
    "kms:RetireGrant",
];
