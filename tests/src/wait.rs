//! Bounded waits, so no test sleeps a fixed time and hopes: a positive wait polls until what it
//! waits for holds and fails at its deadline; a negative assertion watches for what must not
//! happen for a stated time and fails the moment it does.

use std::time::{Duration, Instant};

use anyhow::bail;

/// How often a wait looks again, unless it says otherwise.
pub const POLL: Duration = Duration::from_millis(50);

/// How long a negative assertion about the network watches for a stray connection after the
/// work that could have made it (a capture, a request) has returned. A request a page made would
/// arrive within milliseconds of the capture; this is ample on a loaded 2-core machine.
pub const STRAY_CONNECTION_GRACE: Duration = Duration::from_millis(500);

/// Polls `check` every [`POLL`] until it gives `Some`, for at most `within`; the error names
/// `what` was awaited. An error from `check` ends the wait at once.
pub async fn until<T>(
    what: &str,
    within: Duration,
    check: impl AsyncFnMut() -> anyhow::Result<Option<T>>,
) -> anyhow::Result<T> {
    until_every(what, within, POLL, check).await
}

/// [`until`], looking every `every`: a short interval for a state that lasts only briefly.
pub async fn until_every<T>(
    what: &str,
    within: Duration,
    every: Duration,
    mut check: impl AsyncFnMut() -> anyhow::Result<Option<T>>,
) -> anyhow::Result<T> {
    let deadline = Instant::now() + within;
    loop {
        if let Some(value) = check().await? {
            return Ok(value);
        }
        if Instant::now() >= deadline {
            bail!("{what}: not within {within:?}");
        }
        tokio::time::sleep(every).await;
    }
}

/// Polls until `holds` is true, for at most `within` (see [`until`]).
pub async fn until_true(
    what: &str,
    within: Duration,
    mut holds: impl AsyncFnMut() -> anyhow::Result<bool>,
) -> anyhow::Result<()> {
    until(what, within, async || Ok(holds().await?.then_some(()))).await
}

/// The negative assertion: `happened` stays false for the whole of `quiet`, checked every
/// [`POLL`] and once more at the end; fails the moment it is true, naming `what` happened.
pub async fn never(
    what: &str,
    quiet: Duration,
    mut happened: impl AsyncFnMut() -> anyhow::Result<bool>,
) -> anyhow::Result<()> {
    let started = Instant::now();
    loop {
        if happened().await? {
            bail!(
                "{what} (after {:?} of {quiet:?} watched)",
                started.elapsed()
            );
        }
        if started.elapsed() >= quiet {
            return Ok(());
        }
        tokio::time::sleep(POLL.min(quiet.saturating_sub(started.elapsed()))).await;
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    #[tokio::test]
    async fn until_returns_what_the_check_found_and_gives_up_at_its_bound() -> anyhow::Result<()> {
        let mut calls = 0;
        let found = until("the third call", Duration::from_secs(5), async || {
            calls += 1;
            Ok((calls == 3).then_some(calls))
        })
        .await?;
        assert_eq!(found, 3);

        let started = Instant::now();
        let err = until_true("nothing", Duration::from_millis(120), async || Ok(false))
            .await
            .unwrap_err();
        assert_eq!(err.to_string(), "nothing: not within 120ms");
        assert!(started.elapsed() >= Duration::from_millis(120));
        Ok(())
    }

    #[tokio::test]
    async fn never_watches_its_whole_bound_and_fails_the_moment_it_happens() -> anyhow::Result<()> {
        let started = Instant::now();
        never("a hit", Duration::from_millis(150), async || Ok(false)).await?;
        assert!(started.elapsed() >= Duration::from_millis(150));

        let hits = Arc::new(AtomicUsize::new(0));
        let later = hits.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(100)).await;
            later.fetch_add(1, Ordering::SeqCst);
        });
        let started = Instant::now();
        let err = never("a hit", Duration::from_secs(30), async || {
            Ok(hits.load(Ordering::SeqCst) > 0)
        })
        .await
        .unwrap_err();
        assert!(err.to_string().starts_with("a hit (after "), "{err}");
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "it waited the whole bound"
        );
        Ok(())
    }
}
