//! The cost-allocation tags of the stack: `Project` and `Stage`, set once
//! as stack tags on every change set. CloudFormation propagates stack tags
//! to the resources that support tags (how far varies by resource type), so
//! no resource in the template has to repeat them
//! (<https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_CreateChangeSet.html>,
//! <https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-properties-resource-tags.html>).

use std::collections::BTreeMap;

pub const PROJECT_KEY: &str = "Project";
pub const PROJECT: &str = "VoiceLearningAssistant";
pub const STAGE_KEY: &str = "Stage";
/// The `Stage` tag of the stack without `--stage`.
pub const DEFAULT_STAGE: &str = "default";

/// The stack's tags for `stage`.
pub fn stack_tags(stage: Option<&str>) -> BTreeMap<String, String> {
    BTreeMap::from([
        (PROJECT_KEY.to_string(), PROJECT.to_string()),
        (
            STAGE_KEY.to_string(),
            stage.unwrap_or(DEFAULT_STAGE).to_string(),
        ),
    ])
}

/// The same, for the SDK.
pub fn sdk_tags(stage: Option<&str>) -> Vec<aws_sdk_cloudformation::types::Tag> {
    stack_tags(stage)
        .into_iter()
        .map(|(k, v)| {
            aws_sdk_cloudformation::types::Tag::builder()
                .key(k)
                .value(v)
                .build()
        })
        .collect()
}

/// True when the deployed stack lacks one of them (or has another value):
/// a deploy then updates it even if template and parameters are unchanged.
pub fn missing(deployed: &BTreeMap<String, String>, stage: Option<&str>) -> bool {
    stack_tags(stage)
        .iter()
        .any(|(k, v)| deployed.get(k) != Some(v))
}
