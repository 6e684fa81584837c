//! The bucket's layout: every prefix the project writes under, defined once.
//!
//! | prefix          | holds                                   | public | expired by the lifecycle rule |
//! |-----------------|-----------------------------------------|--------|-------------------------------|
//! | `card-images/`  | the image cache                         | yes    | yes                           |
//! | `jobs/leases/`  | one lease object per background job     | no     | no                            |
//! | `control/`      | the fleet's control plane               | no     | no                            |
//!
//! The public-read statement and the lifecycle rule name [`CARD_IMAGES`] and nothing else, so the
//! other prefixes stay private and are never expired: a lease or a control object that vanished
//! would lose state every instance relies on.

/// The image cache: `card-images/{design}/{listing_id}/{fingerprint}.{ext}`. The only public
/// prefix, and the only one the lifecycle rule expires and the cleanup job deletes from.
pub const CARD_IMAGES: &str = "card-images/";

/// Job leases: `jobs/leases/{job}.json`, taken, renewed and released by conditional PUTs and never
/// deleted, so the service needs only `s3:GetObject` and `s3:PutObject` here.
pub const JOB_LEASES: &str = "jobs/leases/";

/// The fleet's private control plane (crate `card-control`): design components named by digest,
/// the manifest of live design versions, experiments, invalidations, per-instance counters and
/// heartbeats, render-check runs. Private and never expired; the service may delete only counters
/// and old check runs here (retention).
pub const CONTROL: &str = "control/";

/// Every prefix above, for checks that must cover all of them.
pub const ALL: [&str; 3] = [CARD_IMAGES, JOB_LEASES, CONTROL];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_are_directories_and_none_holds_another() {
        for a in ALL {
            assert!(a.ends_with('/') && !a.starts_with('/'), "{a}");
            for b in ALL {
                assert!(a == b || !b.starts_with(a), "{b} lies under {a}");
            }
        }
    }
}
