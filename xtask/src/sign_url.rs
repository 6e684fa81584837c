//! `cargo xtask sign-url PATH`: the signed form of an image URL, with the first of `SIGNING__KEYS`
//! (environment, `.env` or `card-service.toml`, as the service reads them).

use anyhow::{Result, bail};

use crate::util;

#[derive(Debug, clap::Args)]
pub struct SignUrl {
    /// A path with its query (`/api/og-image/dl-0001?variant=classic`) or an absolute URL.
    pub url: String,
}

impl SignUrl {
    pub fn run(self) -> Result<()> {
        let settings = util::load_settings()?;
        let signer = settings.signing.signer();
        if !signer.is_enabled() {
            bail!(
                "SIGNING__KEYS is not set, so the service does not check signatures: set it (e.g. \
                 `SIGNING__KEYS=$(openssl rand -hex 32)` in .env) to sign URLs"
            );
        }
        println!("{}", sign(&signer, &self.url)?);
        Ok(())
    }
}

/// Signs the path and query of `url`, keeping an origin (`https://host`) if it has one.
fn sign(signer: &card_request::Signer, url: &str) -> Result<String> {
    let (origin, path) = match url.find("://") {
        Some(scheme_end) => {
            let after = scheme_end + 3;
            let path_start = url[after..].find('/').map_or(url.len(), |i| after + i);
            url.split_at(path_start)
        }
        None => ("", url),
    };
    if !path.starts_with('/') {
        bail!("expected a path starting with `/` or an absolute URL, not `{url}`");
    }
    Ok(format!("{origin}{}", signer.sign_path(path)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signs_paths_and_keeps_origins() {
        let signer = card_request::Signer::from_keys_setting(&"ab".repeat(32)).unwrap();
        let path = sign(&signer, "/api/og-image/dl-0001?variant=classic").unwrap();
        assert!(
            path.starts_with("/api/og-image/dl-0001?variant=classic&sig="),
            "{path}"
        );
        let absolute = sign(
            &signer,
            "https://cards.example.com/api/og-image/dl-0001?variant=classic",
        )
        .unwrap();
        assert_eq!(absolute, format!("https://cards.example.com{path}"));
        assert!(sign(&signer, "api/og-image/x").is_err());
    }
}
