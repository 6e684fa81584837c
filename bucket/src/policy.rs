//! Policies: the statements we own in bucket policies, and the service's least-privilege IAM policy.

use serde_json::{Value, json};

use crate::layout::{CARD_IMAGES, CONTROL, JOB_LEASES};
use crate::spec::AccessLog;

/// The Sid of the public-read statement in the card bucket's policy.
const PUBLIC_READ_SID: &str = "PublicReadCardImages";
/// The Sid of the statement that lets S3's logging service write to the log bucket.
const LOG_DELIVERY_SID: &str = "S3ServerAccessLogs";

/// The statement that makes `card-images/*` of `bucket`, and nothing else, publicly readable.
pub(crate) fn public_read_statement(bucket: &str) -> Value {
    json!({
        "Sid": PUBLIC_READ_SID,
        "Effect": "Allow",
        "Principal": "*",
        "Action": "s3:GetObject",
        "Resource": format!("arn:aws:s3:::{bucket}/{CARD_IMAGES}*"),
    })
}

/// The statement that lets S3's logging service write `source`'s access logs into the log bucket.
pub(crate) fn log_delivery_statement(log: &AccessLog, source: &str) -> Value {
    json!({
        "Sid": LOG_DELIVERY_SID,
        "Effect": "Allow",
        "Principal": {"Service": "logging.s3.amazonaws.com"},
        "Action": "s3:PutObject",
        "Resource": format!("arn:aws:s3:::{}/{}*", log.bucket, log.prefix),
        "Condition": {"ArnLike": {"aws:SourceArn": format!("arn:aws:s3:::{source}")}},
    })
}

/// The least-privilege IAM policy the service needs on `bucket`: reading, writing and deleting
/// objects under `card-images/`; reading and (conditionally) writing its job leases, which are
/// never deleted; reading and writing the control plane, deleting only its expired counters and
/// old check runs; listing (cleanup) and `HeadBucket` (`/readyz`, authorised by `s3:ListBucket`).
pub fn iam_policy(bucket: &str) -> Value {
    json!({
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "CardObjects",
                "Effect": "Allow",
                "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
                "Resource": format!("arn:aws:s3:::{bucket}/{CARD_IMAGES}*"),
            },
            {
                "Sid": "JobLease",
                "Effect": "Allow",
                "Action": ["s3:GetObject", "s3:PutObject"],
                "Resource": format!("arn:aws:s3:::{bucket}/{JOB_LEASES}*"),
            },
            {
                "Sid": "ControlPlane",
                "Effect": "Allow",
                "Action": ["s3:GetObject", "s3:PutObject"],
                "Resource": format!("arn:aws:s3:::{bucket}/{CONTROL}*"),
            },
            {
                "Sid": "ControlCountsRetention",
                "Effect": "Allow",
                "Action": ["s3:DeleteObject"],
                "Resource": format!("arn:aws:s3:::{bucket}/{CONTROL}counts/*"),
            },
            {
                "Sid": "ControlCheckRunsRetention",
                "Effect": "Allow",
                "Action": ["s3:DeleteObject"],
                "Resource": format!("arn:aws:s3:::{bucket}/{CONTROL}checks/*"),
            },
            {
                "Sid": "ListAndHealth",
                "Effect": "Allow",
                "Action": ["s3:ListBucket"],
                "Resource": format!("arn:aws:s3:::{bucket}"),
            },
        ],
    })
}

/// `policy` with `statement` in it (replacing one with the same Sid, keeping every other),
/// or `None` when it is there already.
pub(crate) fn with_statement(policy: Option<&Value>, statement: Value) -> Option<Value> {
    let sid = &statement["Sid"];
    let current: Vec<Value> = policy
        .and_then(|p| p.get("Statement"))
        .map(|s| match s {
            // A policy may hold a single statement as an object.
            Value::Array(list) => list.clone(),
            other => vec![other.clone()],
        })
        .unwrap_or_default();
    if current.iter().any(|s| same_statement(s, &statement)) {
        return None;
    }
    let mut statements: Vec<Value> = current.into_iter().filter(|s| &s["Sid"] != sid).collect();
    statements.push(statement);
    Some(json!({"Version": "2012-10-17", "Statement": statements}))
}

/// Statement equality that tolerates how servers echo policies back: a one-element list for a
/// single action or resource.
fn same_statement(a: &Value, b: &Value) -> bool {
    fn normal(v: &Value) -> Value {
        match v {
            Value::Array(list) if list.len() == 1 => normal(&list[0]),
            Value::Array(list) => Value::Array(list.iter().map(normal).collect()),
            Value::Object(map) => {
                Value::Object(map.iter().map(|(k, v)| (k.clone(), normal(v))).collect())
            }
            other => other.clone(),
        }
    }
    normal(a) == normal(b)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layout;

    #[test]
    fn policies_echoed_with_one_element_lists_count_as_the_same() {
        let mut echoed = public_read_statement("dealbrain-card-images");
        echoed["Action"] = json!(["s3:GetObject"]);
        echoed["Resource"] = json!([echoed["Resource"].clone()]);
        let policy = json!({"Version": "2012-10-17", "Statement": [echoed]});
        assert!(
            with_statement(
                Some(&policy),
                public_read_statement("dealbrain-card-images")
            )
            .is_none()
        );
    }

    #[test]
    fn the_policy_makes_only_card_images_public() {
        let statement = public_read_statement("dealbrain-card-images");
        assert_eq!(
            statement,
            json!({
                "Sid": "PublicReadCardImages",
                "Effect": "Allow",
                "Principal": "*",
                "Action": "s3:GetObject",
                "Resource": "arn:aws:s3:::dealbrain-card-images/card-images/*"
            })
        );
        // Of our prefixes, only the image cache is public: leases and the control plane are not.
        let public = statement["Resource"]
            .as_str()
            .unwrap()
            .trim_end_matches('*');
        for prefix in layout::ALL {
            let object = format!("arn:aws:s3:::dealbrain-card-images/{prefix}x");
            assert_eq!(
                object.starts_with(public),
                prefix == layout::CARD_IMAGES,
                "{prefix}"
            );
        }
    }

    #[test]
    fn the_iam_policy_grants_objects_under_our_prefixes_and_listing_only() {
        let policy = iam_policy("b");
        let grants: Vec<(&str, Value)> = policy["Statement"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| (s["Resource"].as_str().unwrap(), s["Action"].clone()))
            .collect();
        assert_eq!(
            grants,
            [
                (
                    "arn:aws:s3:::b/card-images/*",
                    json!(["s3:GetObject", "s3:PutObject", "s3:DeleteObject"])
                ),
                // Leases are released by a conditional PUT, never deleted.
                (
                    "arn:aws:s3:::b/jobs/leases/*",
                    json!(["s3:GetObject", "s3:PutObject"])
                ),
                // The control plane: conditional writes; only counters and check runs are ever
                // deleted (never the manifest or a component).
                (
                    "arn:aws:s3:::b/control/*",
                    json!(["s3:GetObject", "s3:PutObject"])
                ),
                (
                    "arn:aws:s3:::b/control/counts/*",
                    json!(["s3:DeleteObject"])
                ),
                (
                    "arn:aws:s3:::b/control/checks/*",
                    json!(["s3:DeleteObject"])
                ),
                ("arn:aws:s3:::b", json!(["s3:ListBucket"])),
            ]
        );
        assert!(!policy.to_string().contains("s3:*"));
    }
}
