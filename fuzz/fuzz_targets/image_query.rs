//! The image query: any query string parses or is refused without panicking, within the length
//! limit, and what parses means the same after a round trip through `to_query_string` (when the
//! re-encoded form fits the limit: `%00` is three bytes where the client may have sent one).
#![no_main]

use card_request::{ImageQuery, MAX_QUERY_LEN, QueryError};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|raw: &str| {
    match ImageQuery::parse(Some(raw)) {
        Ok(query) => {
            assert!(raw.len() <= MAX_QUERY_LEN);
            let encoded = query.to_query_string();
            if encoded.len() <= MAX_QUERY_LEN {
                let again = ImageQuery::parse(Some(&encoded));
                assert_eq!(again.as_ref(), Ok(&query), "{raw:?}");
            }
        }
        Err(QueryError::TooLong) => assert!(raw.len() > MAX_QUERY_LEN),
        Err(QueryError::UnknownParameter(name)) => assert!(name.chars().count() <= 32),
        Err(QueryError::DuplicateParameter(_) | QueryError::InvalidFormat) => {}
    }
});
