//! Bucket provisioning (`card-bucket`, the logic of `cargo xtask provision-bucket`) against a real
//! S3 server: it is idempotent, what it stores reads back as intended, and the policy makes
//! `card-images/*` and nothing else public (checked where the server enforces policies: moto
//! does, LocalStack not).

use anyhow::ensure;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{CorsConfiguration, CorsRule, ExpirationStatus, LifecycleRuleFilter};
use card_bucket::{AccessLog, BucketSpec, Change, Step};
use card_e2e::S3Server;
use card_service::S3Settings;
use serde_json::json;

fn spec(bucket: &str) -> BucketSpec {
    let defaults = S3Settings::default();
    let mut spec = BucketSpec::new(bucket, &defaults.region, defaults.cache_ttl_seconds);
    spec.access_log = Some(AccessLog::for_bucket(&format!("{bucket}-logs"), bucket));
    spec
}

fn operations(steps: &[Step]) -> Vec<&'static str> {
    steps
        .iter()
        .filter_map(|s| s.change.as_ref().map(Change::operation))
        .collect()
}

#[tokio::test]
async fn provisioning_twice_changes_nothing_the_second_time() -> anyhow::Result<()> {
    let s3 = S3Server::start().await?;
    let client = s3.client();
    let spec = spec("provision-twice");

    let first = card_bucket::ensure(&client, &spec, |_| {}).await?;
    assert_eq!(
        operations(&first),
        [
            "CreateBucket",
            "PutPublicAccessBlock",
            "PutBucketCors",
            "PutBucketLifecycleConfiguration",
            "PutBucketPolicy",
            "CreateBucket",
            "PutBucketPolicy",
            "PutBucketLogging"
        ]
    );
    let second = card_bucket::ensure(&client, &spec, |_| {}).await?;
    assert_eq!(operations(&second), Vec::<&str>::new(), "{second:#?}");

    // What the server stores reads back as intended, through the SDK rather than our reader.
    let bucket = spec.bucket.as_str();
    let cors = client.get_bucket_cors().bucket(bucket).send().await?;
    let rule = &cors.cors_rules()[0];
    assert_eq!(rule.allowed_methods(), ["GET", "HEAD"]);
    assert_eq!(rule.allowed_origins(), ["*"]);
    let lifecycle = client
        .get_bucket_lifecycle_configuration()
        .bucket(bucket)
        .send()
        .await?;
    let rule = &lifecycle.rules()[0];
    assert_eq!(rule.id(), Some("expire-card-images"));
    assert_eq!(
        rule.filter().and_then(LifecycleRuleFilter::prefix),
        Some("card-images/")
    );
    assert_eq!(rule.expiration().and_then(|e| e.days()), Some(30));
    let policy = client.get_bucket_policy().bucket(bucket).send().await?;
    let policy: serde_json::Value = serde_json::from_str(policy.policy().unwrap_or("{}"))?;
    assert_eq!(
        policy["Statement"][0]["Resource"],
        json!("arn:aws:s3:::provision-twice/card-images/*")
    );
    let block = client
        .get_public_access_block()
        .bucket(bucket)
        .send()
        .await?
        .public_access_block_configuration
        .unwrap_or_else(|| panic!("no public access block"));
    assert_eq!(block.block_public_policy(), Some(false));
    assert_eq!(block.restrict_public_buckets(), Some(false));
    let logging = client.get_bucket_logging().bucket(bucket).send().await?;
    assert_eq!(
        logging.logging_enabled().map(|l| l.target_bucket()),
        Some("provision-twice-logs")
    );

    // A longer TTL changes the lifecycle rule and nothing else.
    let mut longer = spec.clone();
    longer.expire_after_days = 45;
    let third = card_bucket::ensure(&client, &longer, |_| {}).await?;
    assert_eq!(operations(&third), ["PutBucketLifecycleConfiguration"]);
    Ok(())
}

#[tokio::test]
async fn only_card_images_are_public() -> anyhow::Result<()> {
    let s3 = S3Server::start().await?;
    let client = s3.client();
    let spec = spec("provision-public");
    card_bucket::ensure(&client, &spec, |_| {}).await?;
    for key in ["card-images/x", "private/x"] {
        client
            .put_object()
            .bucket(&spec.bucket)
            .key(key)
            .body(ByteStream::from_static(b"card"))
            .send()
            .await?;
    }
    // Plain HTTP, no credentials: what a crawler does.
    let anonymous = |key: &str| format!("{}/{}/{key}", s3.endpoint(), spec.bucket);
    let public = reqwest::get(anonymous("card-images/x")).await?;
    ensure!(public.status() == 200, "card-images/x: {}", public.status());
    ensure!(public.bytes().await?.as_ref() == b"card");
    let private = reqwest::get(anonymous("private/x")).await?.status();
    if s3.enforces_policies() {
        ensure!(private == 403, "private/x answered {private}, expected 403");
    } else {
        eprintln!(
            "{:?} does not enforce bucket policies: private/x answered {private}; \
             the denial is checked against moto",
            s3.backend()
        );
    }
    Ok(())
}

#[tokio::test]
async fn rules_someone_else_set_are_kept() -> anyhow::Result<()> {
    let s3 = S3Server::start().await?;
    let client = s3.client();
    let bucket = "provision-theirs";
    s3.create_bucket(bucket).await?;
    let theirs = CorsRule::builder()
        .id("theirs")
        .allowed_methods("PUT")
        .allowed_origins("https://admin.example")
        .build()?;
    client
        .put_bucket_cors()
        .bucket(bucket)
        .cors_configuration(CorsConfiguration::builder().cors_rules(theirs).build()?)
        .send()
        .await?;
    let their_lifecycle = aws_sdk_s3::types::LifecycleRule::builder()
        .id("their-logs")
        .status(ExpirationStatus::Enabled)
        .filter(LifecycleRuleFilter::builder().prefix("logs/").build())
        .expiration(
            aws_sdk_s3::types::LifecycleExpiration::builder()
                .days(7)
                .build(),
        )
        .build()?;
    client
        .put_bucket_lifecycle_configuration()
        .bucket(bucket)
        .lifecycle_configuration(
            aws_sdk_s3::types::BucketLifecycleConfiguration::builder()
                .rules(their_lifecycle)
                .build()?,
        )
        .send()
        .await?;

    let mut spec = spec(bucket);
    spec.access_log = None;
    card_bucket::ensure(&client, &spec, |_| {}).await?;
    let again = card_bucket::ensure(&client, &spec, |_| {}).await?;
    assert_eq!(operations(&again), Vec::<&str>::new(), "{again:#?}");

    let cors = client.get_bucket_cors().bucket(bucket).send().await?;
    let ids: Vec<Option<&str>> = cors.cors_rules().iter().map(|r| r.id()).collect();
    assert_eq!(ids, [Some("theirs"), Some("card-images-read")]);
    let lifecycle = client
        .get_bucket_lifecycle_configuration()
        .bucket(bucket)
        .send()
        .await?;
    let ids: Vec<Option<&str>> = lifecycle.rules().iter().map(|r| r.id()).collect();
    assert_eq!(ids, [Some("their-logs"), Some("expire-card-images")]);
    Ok(())
}
