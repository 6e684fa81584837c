//! The statistics of an A/B test: click-through rates with 95 % Wilson intervals, lift over the
//! control with a two-sided two-proportion z-test, Holm's correction for several variants, and
//! a verdict in words.
//!
//! A "trial" is an unfurl (a crawler fetched the share page: a platform showed the card) and a
//! "success" a person's click on that share link. Rates are only compared once every variant
//! has `EXPERIMENTS__MIN_UNFURLS` trials.

/// The 97.5th percentile of the standard normal: a two-sided 95 % interval.
const Z95: f64 = 1.959_963_984_540_054;

/// The 95 % Wilson score interval of `successes` in `trials` (Wilson 1927; Newcombe 1998): unlike
/// the normal approximation it stays inside [0, 1] and behaves at 0 % and 100 %. No trials: [0, 1].
pub fn wilson(successes: u64, trials: u64) -> (f64, f64) {
    if trials == 0 {
        return (0.0, 1.0);
    }
    let n = trials as f64;
    let p = successes.min(trials) as f64 / n;
    let z2 = Z95 * Z95;
    let denominator = 1.0 + z2 / n;
    let centre = (p + z2 / (2.0 * n)) / denominator;
    let half = Z95 * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt() / denominator;
    ((centre - half).max(0.0), (centre + half).min(1.0))
}

/// Two-sided p-value of the pooled two-proportion z-test of `b` against `a` (successes, trials),
/// and the z statistic. Undefined cases (no trials, or both rates 0 % or 100 %): z 0, p 1.
pub fn z_test(a: (u64, u64), b: (u64, u64)) -> (f64, f64) {
    let (ca, na) = (a.0.min(a.1) as f64, a.1 as f64);
    let (cb, nb) = (b.0.min(b.1) as f64, b.1 as f64);
    if na == 0.0 || nb == 0.0 {
        return (0.0, 1.0);
    }
    let pooled = (ca + cb) / (na + nb);
    let se = (pooled * (1.0 - pooled) * (1.0 / na + 1.0 / nb)).sqrt();
    if se == 0.0 {
        return (0.0, 1.0);
    }
    let z = (cb / nb - ca / na) / se;
    // 2 (1 - Φ(|z|)) = erfc(|z| / √2), exact in the tails where 1 - Φ would cancel.
    (z, libm::erfc(z.abs() / std::f64::consts::SQRT_2).min(1.0))
}

/// Holm's step-down adjustment of `p` values (one per comparison with the control), in their
/// order: controls the family-wise error rate at the level the adjusted values are read against.
pub fn holm(p: &[f64]) -> Vec<f64> {
    let m = p.len();
    let mut order: Vec<usize> = (0..m).collect();
    order.sort_by(|&a, &b| p[a].total_cmp(&p[b]));
    let mut adjusted = vec![0.0; m];
    let mut running: f64 = 0.0;
    for (rank, &i) in order.iter().enumerate() {
        running = running.max(((m - rank) as f64 * p[i]).min(1.0));
        adjusted[i] = running;
    }
    adjusted
}

/// One variant's numbers.
#[derive(Debug, Clone, PartialEq)]
pub struct Arm {
    pub name: String,
    pub unfurls: u64,
    pub clicks: u64,
}

/// A variant compared with the control.
#[derive(Debug, Clone, PartialEq)]
pub struct Comparison {
    pub variant: String,
    /// Relative change of the click-through rate over the control's (0.1 = +10 %); `None` when
    /// the control's rate is 0.
    pub lift: Option<f64>,
    pub z: f64,
    pub p: f64,
    /// `p` after Holm's correction (equal to `p` with one comparison).
    pub p_adjusted: f64,
}

/// What the numbers say, in words and as a code a client can match.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    pub code: &'static str,
    pub text: String,
}

/// Compares every arm after the first (the control) with it and names the verdict. `min_unfurls`:
/// below it for any arm, "not enough data".
pub fn analyse(arms: &[Arm], min_unfurls: u64, alpha: f64) -> (Vec<Comparison>, Verdict) {
    let Some((control, others)) = arms.split_first() else {
        return (
            Vec::new(),
            Verdict {
                code: "no-variants",
                text: "the experiment has no variants".into(),
            },
        );
    };
    let raw: Vec<(f64, f64)> = others
        .iter()
        .map(|arm| z_test((control.clicks, control.unfurls), (arm.clicks, arm.unfurls)))
        .collect();
    let adjusted = holm(&raw.iter().map(|(_, p)| *p).collect::<Vec<_>>());
    let rate = |a: &Arm| (a.unfurls > 0).then(|| a.clicks.min(a.unfurls) as f64 / a.unfurls as f64);
    let comparisons: Vec<Comparison> = others
        .iter()
        .zip(raw.iter().zip(&adjusted))
        .map(|(arm, ((z, p), p_adjusted))| Comparison {
            variant: arm.name.clone(),
            lift: match (rate(control), rate(arm)) {
                (Some(c), Some(v)) if c > 0.0 => Some(v / c - 1.0),
                _ => None,
            },
            z: *z,
            p: *p,
            p_adjusted: *p_adjusted,
        })
        .collect();
    if others.is_empty() {
        return (
            comparisons,
            Verdict {
                code: "one-variant",
                text: format!("only `{}` runs: there is nothing to compare", control.name),
            },
        );
    }
    let short: Vec<String> = arms
        .iter()
        .filter(|a| a.unfurls < min_unfurls)
        .map(|a| format!("{} needs {} more", a.name, min_unfurls - a.unfurls))
        .collect();
    if !short.is_empty() {
        return (
            comparisons,
            Verdict {
                code: "not-enough-data",
                text: format!(
                    "not enough data: each variant needs {min_unfurls} unfurls ({})",
                    short.join(", ")
                ),
            },
        );
    }
    let corrected = if others.len() > 1 {
        format!(", Holm-corrected for {} comparisons", others.len())
    } else {
        String::new()
    };
    // The significant comparison with the largest lift leads; a significant loss says so.
    let best = comparisons
        .iter()
        .filter(|c| c.p_adjusted < alpha)
        .max_by(|a, b| a.z.total_cmp(&b.z));
    let verdict = match best {
        Some(c) if c.z > 0.0 => Verdict {
            code: "variant-leads",
            text: format!(
                "{} leads {} by {} (p = {}{corrected})",
                c.variant,
                control.name,
                percent(c.lift),
                p_text(c.p_adjusted)
            ),
        },
        Some(_) => {
            let worst = comparisons
                .iter()
                .filter(|c| c.p_adjusted < alpha)
                .min_by(|a, b| a.z.total_cmp(&b.z))
                .unwrap_or(&comparisons[0]);
            Verdict {
                code: "control-leads",
                text: format!(
                    "{} leads {}: {} trails by {} (p = {}{corrected})",
                    control.name,
                    worst.variant,
                    worst.variant,
                    percent(worst.lift),
                    p_text(worst.p_adjusted)
                ),
            }
        }
        None => Verdict {
            code: "no-clear-difference",
            text: format!("no clear difference (every p ≥ {alpha}{corrected})"),
        },
    };
    (comparisons, verdict)
}

fn percent(lift: Option<f64>) -> String {
    lift.map_or(
        "an undefined share (the control has no clicks)".into(),
        |l| format!("{:+.1} %", l * 100.0),
    )
}

fn p_text(p: f64) -> String {
    if p < 0.0001 {
        "< 0.0001".into()
    } else {
        format!("{p:.4}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, tolerance: f64) -> bool {
        (a - b).abs() <= tolerance
    }

    /// Newcombe (1998), "Two-sided confidence intervals for the single proportion", Table I:
    /// 81/263 → 0.2553–0.3662, 0/10 → 0–0.2775, 1/29 → 0.0061–0.1718; and 5/10, 10/10.
    #[test]
    fn wilson_intervals_match_published_values() {
        for (x, n, lo, hi) in [
            (81, 263, 0.2553, 0.3662),
            (0, 10, 0.0, 0.2775),
            (1, 29, 0.0061, 0.1718),
            (5, 10, 0.2366, 0.7634),
            (10, 10, 0.7225, 1.0),
        ] {
            let (l, h) = wilson(x, n);
            assert!(close(l, lo, 5e-5) && close(h, hi, 5e-5), "{x}/{n}: {l} {h}");
        }
        assert_eq!(wilson(0, 0), (0.0, 1.0));
    }

    /// Reference: Python's `statistics.NormalDist` (pooled two-proportion z-test, two-sided).
    #[test]
    fn z_test_matches_a_reference_implementation() {
        let (z, p) = z_test((200, 1000), (250, 1000));
        assert!(
            close(z, 2.677_397_763, 1e-8) && close(p, 0.007_419_649_261, 1e-10),
            "{z} {p}"
        );
        let (z, p) = z_test((30, 400), (45, 400));
        assert!(
            close(z, 1.819_435_305, 1e-8) && close(p, 0.068_845_044_608, 1e-10),
            "{z} {p}"
        );
        // Equal rates, no trials, 0 % or 100 % everywhere: nothing to tell apart.
        assert_eq!(z_test((10, 200), (10, 200)), (0.0, 1.0));
        assert_eq!(z_test((0, 0), (5, 10)), (0.0, 1.0));
        assert_eq!(z_test((0, 100), (0, 100)), (0.0, 1.0));
        assert_eq!(z_test((100, 100), (100, 100)), (0.0, 1.0));
    }

    /// Holm's example: 0.01, 0.04, 0.03 → 0.03, 0.06, 0.06.
    #[test]
    fn holm_steps_down_and_stays_monotone() {
        let adjusted = holm(&[0.01, 0.04, 0.03]);
        for (a, e) in adjusted.iter().zip([0.03, 0.06, 0.06]) {
            assert!(close(*a, e, 1e-12), "{adjusted:?}");
        }
        assert_eq!(holm(&[0.02]), vec![0.02]);
        assert_eq!(holm(&[0.9, 0.8]), vec![1.0, 1.0]);
    }

    fn arm(name: &str, unfurls: u64, clicks: u64) -> Arm {
        Arm {
            name: name.into(),
            unfurls,
            clicks,
        }
    }

    #[test]
    fn verdicts_in_words() {
        let (_, v) = analyse(&[arm("a", 150, 10), arm("b", 300, 30)], 200, 0.05);
        assert_eq!(v.code, "not-enough-data");
        assert!(v.text.contains("a needs 50 more"), "{}", v.text);
        let (c, v) = analyse(&[arm("a", 1000, 200), arm("b", 1000, 250)], 200, 0.05);
        assert_eq!(v.code, "variant-leads");
        assert_eq!(v.text, "b leads a by +25.0 % (p = 0.0074)");
        assert!(close(c[0].lift.unwrap_or_default(), 0.25, 1e-12));
        let (_, v) = analyse(&[arm("a", 400, 30), arm("b", 400, 45)], 200, 0.05);
        assert_eq!(v.code, "no-clear-difference");
        let (_, v) = analyse(&[arm("a", 1000, 250), arm("b", 1000, 200)], 200, 0.05);
        assert_eq!(v.code, "control-leads");
        let (_, v) = analyse(&[arm("a", 500, 0)], 200, 0.05);
        assert_eq!(v.code, "one-variant");
        // 0 clicks for the control: the lift is undefined, the test still runs.
        let (c, v) = analyse(&[arm("a", 1000, 0), arm("b", 1000, 20)], 200, 0.05);
        assert_eq!(c[0].lift, None);
        assert_eq!(v.code, "variant-leads");
        // Three variants: Holm turns a lone p = 0.03 into 0.06 (two comparisons), not significant.
        let (c, v) = analyse(
            &[arm("a", 400, 30), arm("b", 400, 30), arm("c", 400, 47)],
            200,
            0.05,
        );
        assert!(c[1].p < 0.05 && c[1].p_adjusted >= 0.05, "{c:?}");
        assert_eq!(v.code, "no-clear-difference");
        assert!(
            v.text.contains("Holm-corrected for 2 comparisons"),
            "{}",
            v.text
        );
    }
}
