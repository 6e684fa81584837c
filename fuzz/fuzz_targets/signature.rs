//! URL signatures: a signed URL always verifies, with the signing key and after rotation; a
//! changed path or query never does; arbitrary input never panics and is refused.
#![no_main]

use card_request::{SIGNATURE_PARAM, SignatureError, Signer};
use libfuzzer_sys::fuzz_target;

const NEW_KEY: &[u8] = b"fuzz-key-new-0123456789abcdef";
const OLD_KEY: &[u8] = b"fuzz-key-old-0123456789abcdef";

fuzz_target!(|input: (&str, &str, &str)| {
    let (path, query, forged) = input;
    let signer = Signer::new(vec![NEW_KEY.to_vec(), OLD_KEY.to_vec()]);

    // Anything a client sends: no panic, and a guessed signature does not verify.
    let result = signer.verify(path, Some(forged));
    if !forged.contains(&format!("{SIGNATURE_PARAM}="))
        && !forged.split('&').any(|s| s == SIGNATURE_PARAM)
    {
        assert_eq!(result, Err(SignatureError::Required));
    } else {
        assert!(
            result.is_err(),
            "forged signature accepted: {path:?} {forged:?}"
        );
    }

    // What we sign verifies, under the current key set and after the old key is dropped.
    if path.contains('?') {
        return;
    }
    let url = if query.is_empty() {
        path.to_string()
    } else {
        format!("{path}?{query}")
    };
    let signed = signer.sign_path(&url);
    let (signed_path, signed_query) = match signed.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (signed.as_str(), None),
    };
    assert_eq!(signed_path, path);
    assert_eq!(
        signer.verify(signed_path, signed_query),
        Ok(()),
        "{signed:?}"
    );
    assert_eq!(
        Signer::new(vec![NEW_KEY.to_vec()]).verify(signed_path, signed_query),
        Ok(())
    );
    assert!(
        Signer::new(vec![OLD_KEY.to_vec()])
            .verify(signed_path, signed_query)
            .is_err()
    );
    // Another path with the same query is refused.
    let other = format!("{path}x");
    assert!(signer.verify(&other, signed_query).is_err());
});
