//! Why provisioning stopped, and the one way an S3 SDK error becomes a line of text.

use std::fmt;

use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};

/// Why provisioning stopped; the message names the S3 operation and, where we know it, the fix.
#[derive(Debug, thiserror::Error)]
pub enum ProvisionError {
    /// An S3 call failed, or its request could not be built.
    #[error("{operation}: {message}")]
    Call {
        /// The S3 operation (`PutBucketPolicy`).
        operation: &'static str,
        /// What went wrong, on one line.
        message: String,
    },
}

impl ProvisionError {
    /// A failed call, with the fix appended where we know it.
    pub(crate) fn call<E, R>(operation: &'static str, error: &SdkError<E, R>) -> Self
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
        R: fmt::Debug,
    {
        let mut message = sdk_error_text(error);
        if operation == "PutBucketPolicy" && message.contains("BlockPublicPolicy") {
            message.push_str(
                "; the account-level Block Public Access setting blocks public bucket policies: \
                 allow them for the account (`aws s3control put-public-access-block`) or serve \
                 cards through a CDN with origin access instead",
            );
        }
        Self::Call { operation, message }
    }

    /// A request the SDK's builder refused.
    pub(crate) fn build(operation: &'static str, error: impl fmt::Display) -> Self {
        Self::Call {
            operation,
            message: format!("invalid request: {error}"),
        }
    }
}

/// An SDK error as one line: S3's error code and message, or the transport failure's cause
/// chain. Unlike `DisplayErrorContext`, it leaves out the SDK's debug dump of the raw response,
/// which buries the cause (`Connection refused`) in a log line or a terminal.
pub fn sdk_error_text<E, R>(error: &SdkError<E, R>) -> String
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: fmt::Debug,
{
    match error {
        SdkError::ServiceError(service) => {
            let err = service.err();
            format!(
                "{}: {}",
                err.code().unwrap_or("error"),
                err.message().unwrap_or("no message")
            )
        }
        other => {
            let mut text = other.to_string();
            let mut source = std::error::Error::source(other);
            while let Some(cause) = source {
                // Some layers repeat their cause in their own message.
                let line = cause.to_string();
                if !text.contains(&line) {
                    text.push_str(": ");
                    text.push_str(&line);
                }
                source = cause.source();
            }
            text
        }
    }
}

#[cfg(test)]
mod tests {
    use aws_sdk_s3::error::ErrorMetadata;
    use aws_sdk_s3::operation::head_bucket::HeadBucketError;
    use aws_sdk_s3::primitives::SdkBody;

    use super::*;

    type Raw = aws_sdk_s3::config::http::HttpResponse;

    fn raw(status: u16) -> Raw {
        Raw::new(status.try_into().unwrap(), SdkBody::empty())
    }

    #[test]
    fn a_service_error_is_its_code_and_message() {
        let err: SdkError<HeadBucketError, Raw> = SdkError::service_error(
            HeadBucketError::generic(
                ErrorMetadata::builder()
                    .code("AccessDenied")
                    .message("Access Denied")
                    .build(),
            ),
            raw(403),
        );
        assert_eq!(sdk_error_text(&err), "AccessDenied: Access Denied");
        let bare: SdkError<HeadBucketError, Raw> = SdkError::service_error(
            HeadBucketError::generic(ErrorMetadata::builder().build()),
            raw(500),
        );
        assert_eq!(sdk_error_text(&bare), "error: no message");
    }

    #[test]
    fn a_transport_failure_is_its_cause_chain_without_the_debug_dump() {
        let refused = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused");
        let err: SdkError<HeadBucketError, Raw> = SdkError::construction_failure(refused);
        let text = sdk_error_text(&err);
        assert_eq!(text, "failed to construct request: refused");
        assert!(!text.contains("Custom"), "{text}");
    }

    #[test]
    fn a_policy_blocked_by_the_account_names_the_fix() {
        let err: SdkError<HeadBucketError, Raw> = SdkError::service_error(
            HeadBucketError::generic(
                ErrorMetadata::builder()
                    .code("AccessDenied")
                    .message("public policies are blocked by the BlockPublicPolicy setting")
                    .build(),
            ),
            raw(403),
        );
        let text = ProvisionError::call("PutBucketPolicy", &err).to_string();
        assert!(
            text.starts_with("PutBucketPolicy: AccessDenied: "),
            "{text}"
        );
        assert!(
            text.contains("aws s3control put-public-access-block"),
            "{text}"
        );
        let other = ProvisionError::call("PutBucketCors", &err).to_string();
        assert!(!other.contains("s3control"), "{other}");
    }
}
