//! The control plane's store against a real S3 server: conditional reads cost a 304, concurrent
//! changes all land, components are checked against their digest, a corrupt manifest is reported.

use card_control::{Actor, ControlError, ControlStore, Read, Refused, Version, keys};
use card_e2e::s3::S3Server;

fn actor(by: &str) -> Actor {
    Actor {
        by: by.into(),
        at: card_control::now(),
    }
}

fn version(digest: &str, by: &str) -> Version {
    Version {
        digest: digest.into(),
        version: "1.0.0".into(),
        bytes: 1,
        action: "upload".into(),
        by: by.into(),
        at: card_control::now(),
    }
}

async fn store(s3: &S3Server, bucket: &str) -> anyhow::Result<ControlStore> {
    s3.create_bucket(bucket).await?;
    Ok(ControlStore::new(s3.client(), bucket))
}

#[tokio::test]
async fn a_conditional_read_is_not_modified_until_a_change_lands() -> anyhow::Result<()> {
    let s3 = S3Server::start().await?;
    let store = store(&s3, "control-read").await?;
    assert!(matches!(store.read_manifest(None).await?, Read::Missing));
    let digest = store.put_component("classic", b"component one").await?;
    let first = store
        .change(&actor("a"), |m| m.publish("classic", version(&digest, "a")))
        .await?;
    assert!(first.written && first.value);
    assert_eq!(first.manifest.revision, 1);
    let Read::Found { manifest, etag } = store.read_manifest(None).await? else {
        anyhow::bail!("no manifest after a change");
    };
    assert_eq!(manifest.revision, 1);
    assert!(matches!(
        store.read_manifest(Some(&etag)).await?,
        Read::NotModified
    ));
    // The same publish again writes nothing.
    let again = store
        .change(&actor("a"), |m| m.publish("classic", version(&digest, "a")))
        .await?;
    assert!(!again.written);
    assert!(matches!(
        store.read_manifest(Some(&etag)).await?,
        Read::NotModified
    ));
    let refused = store
        .change(&actor("a"), |m| m.rollback("classic", &actor("a")))
        .await;
    assert!(
        matches!(
            refused,
            Err(ControlError::Refused(Refused::NoEarlierVersion(_)))
        ),
        "{refused:?}"
    );
    Ok(())
}

#[tokio::test]
async fn concurrent_changes_all_land_and_the_history_holds_every_upload() -> anyhow::Result<()> {
    let s3 = S3Server::start().await?;
    let store = store(&s3, "control-race").await?;
    let writers = 6;
    let mut tasks = Vec::new();
    for n in 0..writers {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let digest = store
                .put_component("classic", format!("component {n}").as_bytes())
                .await?;
            let by = format!("writer-{n}");
            store
                .change(&actor(&by), |m| m.publish("classic", version(&digest, &by)))
                .await
                .map(|c| (digest, c.manifest.revision))
        }));
    }
    let mut digests = Vec::new();
    for task in tasks {
        let (digest, _) = task.await??;
        digests.push(digest);
    }
    let Read::Found { manifest, .. } = store.read_manifest(None).await? else {
        anyhow::bail!("no manifest");
    };
    assert_eq!(manifest.revision, writers as u64, "one revision per change");
    let entry = &manifest.designs["classic"];
    let mut seen: Vec<&str> = entry
        .history
        .iter()
        .chain(std::iter::once(&entry.live))
        .map(|v| v.digest.as_str())
        .collect();
    seen.sort_unstable();
    digests.sort_unstable();
    assert_eq!(seen, digests, "every upload is live or in the history");
    Ok(())
}

#[tokio::test]
async fn components_are_checked_against_their_digest() -> anyhow::Result<()> {
    let s3 = S3Server::start().await?;
    let store = store(&s3, "control-components").await?;
    let digest = store.put_component("classic", b"good bytes").await?;
    assert_eq!(
        store.get_component("classic", &digest).await?,
        b"good bytes"
    );
    // Storing the same bytes again is fine (the object is immutable and already right).
    assert_eq!(store.put_component("classic", b"good bytes").await?, digest);
    s3.client()
        .put_object()
        .bucket("control-components")
        .key(keys::component("ticket", &digest))
        .body(b"other bytes".to_vec().into())
        .send()
        .await?;
    let wrong = store.get_component("ticket", &digest).await;
    assert!(
        matches!(wrong, Err(ControlError::Corrupt { .. })),
        "{wrong:?}"
    );
    let missing = store.get_component("spotlight", &digest).await;
    assert!(
        matches!(missing, Err(ControlError::Missing(_))),
        "{missing:?}"
    );
    Ok(())
}

#[tokio::test]
async fn a_corrupt_manifest_is_reported_and_refuses_changes_until_repaired() -> anyhow::Result<()> {
    let s3 = S3Server::start().await?;
    let store = store(&s3, "control-corrupt").await?;
    s3.client()
        .put_object()
        .bucket("control-corrupt")
        .key(keys::manifest())
        .body(b"{not json".to_vec().into())
        .send()
        .await?;
    let Read::Corrupt { message, .. } = store.read_manifest(None).await? else {
        anyhow::bail!("a broken manifest read as good");
    };
    assert!(!message.is_empty());
    let digest = store.put_component("classic", b"x").await?;
    let refused = store
        .change(&actor("a"), |m| m.publish("classic", version(&digest, "a")))
        .await;
    assert!(
        matches!(refused, Err(ControlError::Corrupt { .. })),
        "{refused:?}"
    );
    let repaired = store
        .change_or_repair(&actor("a"), |m| m.publish("classic", version(&digest, "a")))
        .await?;
    assert!(repaired.written);
    assert!(matches!(
        store.read_manifest(None).await?,
        Read::Found { .. }
    ));
    Ok(())
}
