//! AWS partitions: which partition a region belongs to, its ARN prefix and
//! its DNS suffix (what `AWS::Partition` and `AWS::URLSuffix` resolve to
//! there). The rules are the AWS SDKs' partition data (`partitions.json`,
//! compiled into every SDK crate's endpoint resolver), written out here
//! because this crate has no SDK; `deploy`'s tests compare them with the
//! SDK's resolver for every region it names.

/// One partition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Partition {
    /// `aws`, `aws-cn`, `aws-us-gov`, ...: the second field of an ARN.
    pub id: &'static str,
    /// `amazonaws.com`, `amazonaws.com.cn`, ...: service endpoints and
    /// regional service principals end with it.
    pub dns_suffix: &'static str,
    /// The region name's leading fields (`["us", "gov"]`) before the
    /// direction and the number; `None` in the first field means any of
    /// the commercial partition's geographic prefixes.
    leading: &'static [&'static str],
}

/// The commercial partition's region prefixes (`^(us|eu|ap|sa|ca|me|af|il|mx)-\w+-\d+$`).
const COMMERCIAL_PREFIXES: &[&str] = &["us", "eu", "ap", "sa", "ca", "me", "af", "il", "mx"];

/// Every partition, in the SDK's order; `aws` matches by prefix list.
pub const PARTITIONS: &[Partition] = &[
    Partition {
        id: "aws",
        dns_suffix: "amazonaws.com",
        leading: &[],
    },
    Partition {
        id: "aws-cn",
        dns_suffix: "amazonaws.com.cn",
        leading: &["cn"],
    },
    Partition {
        id: "aws-eusc",
        dns_suffix: "amazonaws.eu",
        leading: &["eusc", "de"],
    },
    Partition {
        id: "aws-iso",
        dns_suffix: "c2s.ic.gov",
        leading: &["us", "iso"],
    },
    Partition {
        id: "aws-iso-b",
        dns_suffix: "sc2s.sgov.gov",
        leading: &["us", "isob"],
    },
    Partition {
        id: "aws-iso-e",
        dns_suffix: "cloud.adc-e.uk",
        leading: &["eu", "isoe"],
    },
    Partition {
        id: "aws-iso-f",
        dns_suffix: "csp.hci.ic.gov",
        leading: &["us", "isof"],
    },
    Partition {
        id: "aws-us-gov",
        dns_suffix: "amazonaws.com",
        leading: &["us", "gov"],
    },
];

impl Partition {
    /// The partition of `region`, or `None` when no partition's rule
    /// matches it (not a region name AWS uses).
    pub fn of(region: &str) -> Option<&'static Partition> {
        let fields: Vec<&str> = region.split('-').collect();
        let [lead @ .., direction, number] = fields.as_slice() else {
            return None;
        };
        let word = |f: &str| {
            !f.is_empty()
                && f.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        };
        if !word(direction) || number.is_empty() || !number.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        PARTITIONS.iter().find(|p| {
            if p.leading.is_empty() {
                lead.len() == 1 && COMMERCIAL_PREFIXES.contains(&lead[0])
            } else {
                lead == p.leading
            }
        })
    }

    /// A regional service principal or endpoint host: `logs.eu-west-1.amazonaws.com`.
    pub fn regional_host(&self, service: &str, region: &str) -> String {
        format!("{service}.{region}.{}", self.dns_suffix)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regions_map_to_their_partitions() {
        for (region, id, suffix) in [
            ("us-east-1", "aws", "amazonaws.com"),
            ("ap-southeast-7", "aws", "amazonaws.com"),
            ("mx-central-1", "aws", "amazonaws.com"),
            ("cn-northwest-1", "aws-cn", "amazonaws.com.cn"),
            ("us-gov-west-1", "aws-us-gov", "amazonaws.com"),
            ("us-iso-east-1", "aws-iso", "c2s.ic.gov"),
            ("us-isob-east-1", "aws-iso-b", "sc2s.sgov.gov"),
            ("eu-isoe-west-1", "aws-iso-e", "cloud.adc-e.uk"),
            ("us-isof-south-1", "aws-iso-f", "csp.hci.ic.gov"),
            ("eusc-de-east-1", "aws-eusc", "amazonaws.eu"),
        ] {
            let p = Partition::of(region).unwrap_or_else(|| panic!("{region}"));
            assert_eq!((p.id, p.dns_suffix), (id, suffix), "{region}");
        }
    }

    #[test]
    fn names_no_partition_uses_are_refused() {
        for bad in [
            "",
            "us-east",
            "useast1",
            "xx-east-1",
            "US-EAST-1",
            "us-east-1a",
            "eusc-fr-east-1",
            "us--1",
            "us-east-1-",
            "us-gov-west-east-1",
        ] {
            assert!(Partition::of(bad).is_none(), "{bad}");
        }
    }
}
