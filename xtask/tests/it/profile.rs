//! An explicit `--profile` wins over AWS_ACCESS_KEY_ID in the environment,
//! as with the AWS CLI and CDK; `AWS_PROFILE` alone does not.

use crate::support::*;

/// The account a run's credentials belong to: `deployer-policy` scopes its
/// policy to the account STS GetCallerIdentity answers for them.
fn policy_account(r: &Run) -> String {
    let text = r.stdout.clone();
    for account in ["111122223333", "123456789012"] {
        if text.contains(&format!(":{account}:")) {
            return account.into();
        }
    }
    panic!("no known account in the policy:\n{text}\n{}", r.stderr)
}

#[test]
fn an_explicit_profile_wins_over_environment_keys() {
    let h = Harness::start("profile");
    // Keys of a role in another account (moto: the account follows the role
    // ARN), so the account STS reports tells which keys signed the request.
    let sts = aws_sdk_sts::Client::new(&h.account.conf);
    let creds = h
        .account
        .block_on(
            sts.assume_role()
                .role_arn("arn:aws:iam::111122223333:role/deployer")
                .role_session_name("profile-test")
                .send(),
        )
        .unwrap()
        .credentials
        .unwrap();
    let config = h.dir.join("aws-config");
    let credentials = h.dir.join("aws-credentials");
    std::fs::write(&config, "[profile deployer]\nregion = us-east-1\n").unwrap();
    std::fs::write(
        &credentials,
        format!(
            "[deployer]\naws_access_key_id = {}\naws_secret_access_key = {}\naws_session_token = {}\n",
            creds.access_key_id, creds.secret_access_key, creds.session_token
        ),
    )
    .unwrap();
    let mut env = h.moto.client_env();
    env.push(("AWS_CONFIG_FILE", config.display().to_string()));
    env.push((
        "AWS_SHARED_CREDENTIALS_FILE",
        credentials.display().to_string(),
    ));

    // Environment keys alone: the emulator's default account.
    let r = run_cmd(xtask(&h.dir, &env, &["deployer-policy"])).ok();
    assert_eq!(policy_account(&r), "123456789012");

    // --profile: the profile's keys, although the environment has others.
    let r = run_cmd(xtask(
        &h.dir,
        &env,
        &["deployer-policy", "--profile", "deployer"],
    ))
    .ok();
    assert_eq!(policy_account(&r), "111122223333");

    // AWS_PROFILE (not a flag) keeps the AWS CLI's order: environment keys first.
    env.push(("AWS_PROFILE", "deployer".into()));
    let r = run_cmd(xtask(&h.dir, &env, &["deployer-policy"])).ok();
    assert_eq!(policy_account(&r), "123456789012");
}
