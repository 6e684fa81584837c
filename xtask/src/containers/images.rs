//! `cargo xtask containers build`: the service image and the LocalStack image.
//!
//! The service image takes the `prebuilt` stage of service/Dockerfile: the release binary built
//! once on the host (the shared target directory keeps it warm) and the designs from
//! `templates build`, staged under `target/image/`. `--from-source` builds the Dockerfile's
//! default stage instead, Rust and all, inside the build.

use std::{
    fs,
    path::{Path, PathBuf},
    process::Command,
    time::Instant,
};

use anyhow::{Context, Result, bail};

use super::runtime::{Engine, Runtime};
use crate::{
    templates,
    util::{self, cargo, cargo_metadata, project_root},
};

/// The service image the compose stack and the docs name.
pub const SERVICE_IMAGE: &str = "localhost/card-service:dev";
/// The LocalStack image built from localstack/Dockerfile.
pub const LOCALSTACK_IMAGE: &str = "localhost/card-localstack:dev";

#[derive(Debug, Default, clap::Args)]
pub struct Build {
    /// Build the service inside the image (the Dockerfile's default stage) instead of copying the
    /// host's release binary in.
    #[arg(long)]
    pub from_source: bool,
    /// Only the LocalStack image.
    #[arg(long)]
    pub localstack_only: bool,
}

/// One built image, for the report.
#[derive(Debug, Clone)]
pub struct Built {
    pub image: &'static str,
    pub bytes: u64,
    pub seconds: f64,
}

impl Build {
    pub fn run(&self, runtime: &Runtime) -> Result<Vec<Built>> {
        let root = project_root();
        let mut built = Vec::new();
        if !self.localstack_only {
            let target = if self.from_source {
                "from-source"
            } else {
                stage_host_build(&root)?;
                "prebuilt"
            };
            built.push(build_image(
                runtime,
                SERVICE_IMAGE,
                &root.join("service/Dockerfile"),
                Some(target),
                &root,
            )?);
        }
        let localstack = root.join("localstack");
        built.push(build_image(
            runtime,
            LOCALSTACK_IMAGE,
            &localstack.join("Dockerfile"),
            None,
            &localstack,
        )?);
        let line: Vec<String> = built
            .iter()
            .map(|b| {
                format!(
                    "{} {} in {:.0}s",
                    b.image,
                    util::human_size(b.bytes),
                    b.seconds
                )
            })
            .collect();
        println!("containers build: {}", line.join("; "));
        Ok(built)
    }
}

/// `cargo build --release -p card-service` and `templates build`, copied to `target/image/`.
fn stage_host_build(root: &Path) -> Result<()> {
    util::step("building the service (release) on the host");
    util::run(
        cargo()
            .current_dir(root)
            .args(["build", "--release", "-p", "card-service"]),
    )?;
    let target_dir = cargo_metadata(&root.join("Cargo.toml"))?.target_directory;
    let designs = templates::build()?;
    let stage = root.join("target/image");
    let _ = fs::remove_dir_all(&stage);
    fs::create_dir_all(stage.join("templates"))?;
    copy(
        &target_dir.join("release/card-service"),
        &stage.join("card-service"),
    )?;
    let mut count = 0;
    for design in designs.iter().filter(|c| c.kind == templates::Kind::Design) {
        let name: PathBuf = design
            .dist
            .file_name()
            .context("a design without a file name")?
            .into();
        copy(&design.dist, &stage.join("templates").join(name))?;
        count += 1;
    }
    if count == 0 {
        bail!("`templates build` built no design: the image would serve nothing");
    }
    Ok(())
}

fn copy(from: &Path, to: &Path) -> Result<()> {
    fs::copy(from, to)
        .map(drop)
        .with_context(|| format!("could not copy {} to {}", from.display(), to.display()))
}

fn build_image(
    runtime: &Runtime,
    image: &'static str,
    dockerfile: &Path,
    target: Option<&str>,
    context: &Path,
) -> Result<Built> {
    util::step(format_args!("building {image}"));
    let started = Instant::now();
    let mut cmd = runtime.cli();
    cmd.arg("build")
        .arg("-f")
        .arg(dockerfile)
        .args(["-t", image]);
    if let Engine::Podman { .. } = runtime.engine {
        // HEALTHCHECK exists only in the Docker format; the base image is local, never pulled.
        cmd.args(["--format", "docker", "--pull=never"]);
    }
    // The host's CA bundle, for package registries behind a TLS-inspecting proxy.
    let ca = util::env_nonempty("SSL_CERT_FILE")
        .unwrap_or_else(|| "/etc/ssl/certs/ca-certificates.crt".to_string());
    if Path::new(&ca).is_file() {
        cmd.arg("--secret").arg(format!("id=host-ca,src={ca}"));
    }
    if let Some(target) = target {
        cmd.args(["--target", target]);
    }
    util::run(cmd.arg(context))?;
    let seconds = started.elapsed().as_secs_f64();
    Ok(Built {
        image,
        bytes: image_size(runtime, image)?,
        seconds,
    })
}

/// The image's size as the engine reports it (uncompressed layers).
pub fn image_size(runtime: &Runtime, image: &str) -> Result<u64> {
    let out = util::read(
        runtime
            .cli()
            .args(["image", "inspect", "--format", "{{.Size}}", image]),
    )?;
    out.trim()
        .parse()
        .with_context(|| format!("unexpected image size {out:?}"))
}

/// Whether the engine holds this image.
pub fn exists(runtime: &Runtime, image: &str) -> bool {
    let mut cmd: Command = runtime.cli();
    cmd.args(["image", "inspect", image])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}
