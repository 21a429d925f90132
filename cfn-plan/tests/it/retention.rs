//! What destroy deletes and what it retains.

use cfn_plan::retention::classify;

#[test]
fn tables_and_key_are_retained_the_rest_deleted() {
    let t = crate::template();
    let res: Vec<(String, String, String)> = t["Resources"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(id, r)| {
            (
                id.clone(),
                r["Type"].as_str().unwrap().to_string(),
                format!("phys-{id}"),
            )
        })
        .collect();
    let items = classify(&t, &res);
    let retained: Vec<&str> = items
        .iter()
        .filter(|i| i.retained)
        .map(|i| i.logical_id.as_str())
        .collect();
    assert_eq!(
        retained,
        vec![
            "DataKey",
            "SessionsTable",
            "UserProfilesTable",
            "BackupVault"
        ]
    );
    assert!(items
        .iter()
        .any(|i| i.logical_id == "SessionPersistenceFunction" && !i.retained));
}
