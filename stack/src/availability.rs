//! Resource types CloudFormation does not offer in every region. A template
//! naming a type its region lacks is refused whole ("Template format error:
//! Unrecognized resource types"), even when the resource's condition is
//! false, so a stack synthesized for such a region leaves the type out and
//! `deploy` refuses the option that needs it, before anything changes.
//! The lists are the CloudFormation registry's, as the pinned cfn-lint ships
//! them (`data/schemas/providers/<region>.json`); a test keeps them equal.

/// `(resource type, regions without it)`.
pub const UNAVAILABLE: &[(&str, &[&str])] = &[(
    crate::resources::Budget::TYPE,
    &[
        "af-south-1",
        "ap-east-1",
        "ap-east-2",
        "ap-northeast-3",
        "ap-south-2",
        "ap-southeast-3",
        "ap-southeast-4",
        "ap-southeast-5",
        "ap-southeast-6",
        "ap-southeast-7",
        "ca-west-1",
        "eu-central-2",
        "eu-north-1",
        "eu-south-1",
        "eu-south-2",
        "il-central-1",
        "me-central-1",
        "mx-central-1",
        "us-gov-east-1",
        "us-gov-west-1",
    ],
)];

/// Whether CloudFormation offers `type_name` in `region`.
pub fn offered(type_name: &str, region: &str) -> bool {
    !UNAVAILABLE
        .iter()
        .any(|(t, regions)| *t == type_name && regions.contains(&region))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budgets_are_missing_where_the_registry_lacks_them() {
        assert!(offered("AWS::Budgets::Budget", "us-east-1"));
        assert!(!offered("AWS::Budgets::Budget", "eu-north-1"));
        assert!(!offered("AWS::Budgets::Budget", "us-gov-west-1"));
        assert!(offered("AWS::DynamoDB::Table", "eu-north-1"));
    }
}
