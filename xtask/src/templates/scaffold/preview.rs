//! Writes the `{{name}}` card for every sample input as HTML (and PNG with `--screenshot`); see `card-preview`.

fn main() -> Result<(), String> {
    card_preview::run::<{{crate}}::{{Type}}>()
}
