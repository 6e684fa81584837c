//! The binary refuses bad settings at start-up with a message naming the variable, and exits non-zero.

use std::process::Command;

fn run_with(env: &[(&str, &str)]) -> (i32, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_card-service"));
    // A directory without .env or card-service.toml, so only the variables below count.
    cmd.current_dir(std::env::temp_dir());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let output = cmd.output().expect("card-service runs");
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn bad_values_stop_start_up_naming_the_variable() {
    for (var, value) in [
        ("PLAYWRIGHT__MAX_CONCURRENT_BROWSERS", "lots"),
        ("PLAYWRIGHT__BROWSER_TIMEOUT_MS", "5"),
        ("S3__ENABLED", "perhaps"),
        ("AWS_S3_BUCKET_NAME", "Not_A_Bucket"),
        ("SERVER__BIND", "nowhere"),
        ("S3__ENDPOINT_URL", "localhost:4566"),
        ("PLAYWRIGHT__ENABLD", "true"),
    ] {
        let (code, stderr) = run_with(&[(var, value)]);
        assert_eq!(code, 2, "{var}={value}: exit {code}, stderr {stderr}");
        assert!(
            stderr.contains(var),
            "{var}={value}: stderr does not name it: {stderr}"
        );
    }
}

#[test]
fn an_unusable_listing_file_stops_start_up() {
    let (code, stderr) = run_with(&[
        ("LISTINGS__SOURCE", "/nonexistent/listings.json"),
        ("SERVER__BIND", "127.0.0.1:0"),
    ]);
    assert_eq!(code, 2, "stderr {stderr}");
    assert!(stderr.contains("LISTINGS__SOURCE"), "{stderr}");
}
