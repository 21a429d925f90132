//! Random ids.

use local::ids::{trace_id, uuid};

#[test]
fn times_and_ids() {
    let (a, b) = (uuid(), uuid());
    assert_ne!(a, b);
    assert_eq!(a.len(), 36);
    assert_eq!(&a[14..15], "4");
    assert!(trace_id().starts_with("Root=1-"));
}
