//! When jobs run: five-field cron expressions in UTC, and a scheduler loop driven by a [`Clock`],
//! so tests move time instead of sleeping.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use chrono::{DateTime, Utc};
use croner::Cron;
use croner::parser::{CronParser, Seconds, Year};
use tokio::sync::watch;

use super::JobKind;

/// The longest the real clock sleeps before the loop looks at the time again, so a wall-clock
/// jump (NTP, a suspended VM) delays a run by at most this much.
const MAX_NAP: Duration = Duration::from_secs(60);

/// A cron expression evaluated in UTC; in settings, its pattern (parsed once, at start-up).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Schedule {
    cron: Cron,
    /// As written (`@daily` stays `@daily`), for settings output and logs.
    pattern: String,
}

impl TryFrom<String> for Schedule {
    type Error = String;
    fn try_from(pattern: String) -> Result<Self, String> {
        Self::parse(&pattern).map_err(|e| {
            format!(
                "expected a five-field cron expression in UTC such as `0 3 * * *` (minute hour \
                 day-of-month month day-of-week), not `{pattern}`: {e}"
            )
        })
    }
}

impl From<Schedule> for String {
    fn from(schedule: Schedule) -> String {
        schedule.pattern().to_string()
    }
}

impl Schedule {
    /// Parses the classic five fields (minute hour day-of-month month day-of-week, 0 or 7 = Sunday),
    /// names (`SUN`, `JAN`) and nicknames (`@daily`, `@weekly`). A sixth field is refused: read as
    /// seconds it would turn "daily at 03:00" into "every hour at minute 3".
    pub(crate) fn parse(pattern: &str) -> Result<Self, String> {
        let cron = CronParser::builder()
            .seconds(Seconds::Disallowed)
            .year(Year::Disallowed)
            .build()
            .parse(pattern)
            .map_err(|e| e.to_string().trim_end_matches('.').to_string())?;
        Ok(Self {
            cron,
            pattern: pattern.trim().to_string(),
        })
    }

    pub(crate) fn pattern(&self) -> &str {
        &self.pattern
    }

    /// In words, for `GET /admin/jobs` ("At 03:00").
    pub(crate) fn describe(&self) -> String {
        self.cron.describe()
    }

    /// The first matching time strictly after `after`.
    pub(crate) fn next_after(&self, after: SystemTime) -> Option<SystemTime> {
        let after: DateTime<Utc> = after.into();
        self.cron
            .find_next_occurrence(&after, false)
            .ok()
            .map(SystemTime::from)
    }
}

/// Where the scheduler, leases and cleanup get the time from.
pub(crate) trait Clock: Send + Sync + 'static {
    fn now(&self) -> SystemTime;
    /// Resolves at `deadline` or earlier; callers look at [`Clock::now`] again and sleep on.
    fn sleep_until(&self, deadline: SystemTime) -> Pin<Box<dyn Future<Output = ()> + Send + '_>>;
}

/// The system clock.
pub(crate) struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }

    fn sleep_until(&self, deadline: SystemTime) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        let wait = deadline
            .duration_since(SystemTime::now())
            .unwrap_or_default()
            .min(MAX_NAP);
        Box::pin(tokio::time::sleep(wait))
    }
}

/// A clock that moves only when told to: tests set the time and sleepers wake when it passes their deadline.
#[cfg(test)]
pub(crate) struct ManualClock {
    now: watch::Sender<SystemTime>,
}

#[cfg(test)]
impl ManualClock {
    pub(crate) fn new(start: SystemTime) -> Self {
        Self {
            now: watch::Sender::new(start),
        }
    }

    pub(crate) fn set(&self, now: SystemTime) {
        self.now.send_replace(now);
    }
}

#[cfg(test)]
impl Clock for ManualClock {
    fn now(&self) -> SystemTime {
        *self.now.borrow()
    }

    fn sleep_until(&self, deadline: SystemTime) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        let mut now = self.now.subscribe();
        Box::pin(async move {
            // An error means the clock was dropped: nothing will ever wake us, so return.
            let _ = now.wait_for(|now| *now >= deadline).await;
        })
    }
}

/// Each scheduled job with the next time it is due.
pub(crate) struct Timetable {
    entries: Vec<(JobKind, Schedule, Option<SystemTime>)>,
}

impl Timetable {
    /// Times counted from `now`: a slot that passed while the service was down is not caught up.
    pub(crate) fn new(jobs: Vec<(JobKind, Schedule)>, now: SystemTime) -> Self {
        let entries = jobs
            .into_iter()
            .map(|(job, schedule)| {
                let next = schedule.next_after(now);
                (job, schedule, next)
            })
            .collect();
        Self { entries }
    }

    /// The jobs due at `now`, each with the slot it runs for (the scheduled time, the same on every
    /// instance). Slots missed while asleep (a suspended machine) give one late run, not a burst.
    pub(crate) fn due(&mut self, now: SystemTime) -> Vec<(JobKind, SystemTime)> {
        let mut due = Vec::new();
        for (job, schedule, next) in &mut self.entries {
            if let Some(slot) = *next
                && slot <= now
            {
                due.push((*job, slot));
                *next = schedule.next_after(now);
            }
        }
        due
    }

    /// When the next job is due; `None` when no expression matches any future time.
    pub(crate) fn next_wakeup(&self) -> Option<SystemTime> {
        self.entries.iter().filter_map(|(_, _, next)| *next).min()
    }
}

/// Calls `fire(job, slot)` whenever a job is due, until `stop` turns true.
pub(crate) async fn run(
    mut table: Timetable,
    clock: Arc<dyn Clock>,
    mut stop: watch::Receiver<bool>,
    mut fire: impl FnMut(JobKind, SystemTime) + Send,
) {
    loop {
        if *stop.borrow() {
            return;
        }
        for (job, slot) in table.due(clock.now()) {
            fire(job, slot);
        }
        let Some(wake) = table.next_wakeup() else {
            tracing::warn!("no job schedule matches a future time; the scheduler stops");
            return;
        };
        tokio::select! {
            () = clock.sleep_until(wake) => {}
            // Dropped: nobody can stop us any more, so stop now rather than spin.
            changed = stop.changed() => if changed.is_err() { return },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `YYYY-MM-DDTHH:MM:SSZ` as a `SystemTime`.
    fn at(rfc3339: &str) -> SystemTime {
        DateTime::parse_from_rfc3339(rfc3339).unwrap().into()
    }

    #[test]
    fn the_defaults_parse_and_mean_what_the_settings_say() {
        let daily = Schedule::parse("0 3 * * *").unwrap();
        assert_eq!(
            daily.next_after(at("2025-06-10T12:00:00Z")),
            Some(at("2025-06-11T03:00:00Z"))
        );
        // Strictly after: at 03:00 the next run is tomorrow's.
        assert_eq!(
            daily.next_after(at("2025-06-11T03:00:00Z")),
            Some(at("2025-06-12T03:00:00Z"))
        );
        // 2025-06-10 is a Tuesday; the next Sunday is the 15th.
        let sundays = Schedule::parse("0 4 * * 0").unwrap();
        assert_eq!(
            sundays.next_after(at("2025-06-10T12:00:00Z")),
            Some(at("2025-06-15T04:00:00Z"))
        );
        assert_eq!(
            Schedule::parse("0 4 * * SUN")
                .unwrap()
                .next_after(at("2025-06-15T04:00:00Z")),
            Some(at("2025-06-22T04:00:00Z"))
        );
        assert!(Schedule::parse("@daily").is_ok());
    }

    #[test]
    fn malformed_expressions_are_refused() {
        for bad in [
            "",
            "every night",
            "0 3 * *",
            "0 0 3 * * *",
            "61 3 * * *",
            "0 24 * * *",
        ] {
            assert!(Schedule::parse(bad).is_err(), "{bad:?} parsed");
        }
    }

    #[test]
    fn a_job_fires_once_per_slot_and_a_missed_slot_once() {
        let mut table = Timetable::new(
            vec![
                (JobKind::WarmCache, Schedule::parse("0 3 * * *").unwrap()),
                (JobKind::Cleanup, Schedule::parse("0 4 * * 0").unwrap()),
            ],
            at("2025-06-14T12:00:00Z"),
        );
        assert_eq!(table.next_wakeup(), Some(at("2025-06-15T03:00:00Z")));
        assert!(table.due(at("2025-06-15T02:59:59Z")).is_empty());
        assert_eq!(
            table.due(at("2025-06-15T03:00:00Z")),
            vec![(JobKind::WarmCache, at("2025-06-15T03:00:00Z"))]
        );
        assert!(table.due(at("2025-06-15T03:00:30Z")).is_empty());
        assert_eq!(table.next_wakeup(), Some(at("2025-06-15T04:00:00Z")));
        // Asleep from Sunday 03:30 until Wednesday noon: one late run of each, slots as scheduled.
        assert_eq!(
            table.due(at("2025-06-18T12:00:00Z")),
            vec![
                (JobKind::WarmCache, at("2025-06-16T03:00:00Z")),
                (JobKind::Cleanup, at("2025-06-15T04:00:00Z")),
            ]
        );
        assert_eq!(table.next_wakeup(), Some(at("2025-06-19T03:00:00Z")));
    }

    /// The next job the scheduler fired, waiting at most 5 s (a bound, not a sleep).
    async fn next(
        fired: &mut tokio::sync::mpsc::UnboundedReceiver<(JobKind, SystemTime)>,
    ) -> Option<(JobKind, SystemTime)> {
        tokio::time::timeout(Duration::from_secs(5), fired.recv())
            .await
            .expect("the scheduler fired within 5 s")
    }

    #[tokio::test]
    async fn the_loop_fires_when_the_injected_clock_reaches_a_slot() {
        let clock = Arc::new(ManualClock::new(at("2025-06-14T12:00:00Z")));
        let table = Timetable::new(
            vec![
                (JobKind::WarmCache, Schedule::parse("0 3 * * *").unwrap()),
                (JobKind::Cleanup, Schedule::parse("0 4 * * 0").unwrap()),
            ],
            clock.now(),
        );
        let (stop_tx, stop_rx) = watch::channel(false);
        let (fired_tx, mut fired) = tokio::sync::mpsc::unbounded_channel();
        let scheduler = tokio::spawn(run(table, clock.clone(), stop_rx, move |job, slot| {
            let _ = fired_tx.send((job, slot));
        }));
        clock.set(at("2025-06-15T02:59:00Z"));
        clock.set(at("2025-06-15T03:00:00Z"));
        assert_eq!(
            next(&mut fired).await,
            Some((JobKind::WarmCache, at("2025-06-15T03:00:00Z")))
        );
        clock.set(at("2025-06-15T04:00:01Z"));
        assert_eq!(
            next(&mut fired).await,
            Some((JobKind::Cleanup, at("2025-06-15T04:00:00Z")))
        );
        assert!(fired.try_recv().is_err(), "nothing else was due");

        stop_tx.send_replace(true);
        tokio::time::timeout(Duration::from_secs(5), scheduler)
            .await
            .expect("the scheduler stops when told")
            .unwrap();
    }
}
