//! Representative and hostile card inputs for design tests and previews (host-side use).
//!
//! Shared so every design is checked against the same edge cases. Nothing here ends up in a
//! component unless a design calls it: unused code is dropped at link time.

use alloc::string::String;
use alloc::vec::Vec;

use crate::{CardInput, Listing, OG_CARD_SIZE};

/// The brand every sample card shows.
pub const BRAND: &str = "Deal Brain";

/// A complete, realistic listing: every optional field present.
pub fn full_listing() -> Listing {
    Listing {
        id: "lst_7f3a9c".into(),
        title: "Lenovo ThinkPad P16s Gen 2 Mobile Workstation, 16\" WUXGA, Ryzen 7 PRO 7840U"
            .into(),
        price_cents: Some(128_999),
        currency: "USD".into(),
        cpu_name: Some("AMD Ryzen 7 PRO 7840U".into()),
        cpu_mark: Some(24_870),
        cpu_mark_per_dollar: Some(19.28),
        ram_gb: Some(32),
        storage_gb: Some(1000),
        storage_type: Some("NVMe SSD".into()),
        condition: Some("refurbished".into()),
        seller: Some("Newegg".into()),
    }
}

/// A listing with every optional field missing.
pub fn bare_listing() -> Listing {
    Listing {
        id: "lst_bare".into(),
        title: "Mystery office PC".into(),
        price_cents: None,
        currency: "USD".into(),
        cpu_name: None,
        cpu_mark: None,
        cpu_mark_per_dollar: None,
        ram_gb: None,
        storage_gb: None,
        storage_type: None,
        condition: None,
        seller: None,
    }
}

fn card(listing: Listing, image: Option<&str>) -> CardInput {
    CardInput {
        listing,
        image_data_uri: image.map(String::from),
        brand: BRAND.into(),
        size: OG_CARD_SIZE,
    }
}

/// Named sample inputs, `image` (a `data:` URI) used where a listing has a picture.
///
/// Names are file-name safe, so previews can write `{name}.html`.
// One flat list of cases reads best, however long it gets.
#[allow(clippy::too_many_lines, clippy::vec_init_then_push)]
pub fn all(image: Option<&str>) -> Vec<(&'static str, CardInput)> {
    let mut out = Vec::new();

    out.push(("full", card(full_listing(), image)));

    out.push((
        "mini-pc-bargain",
        card(
            Listing {
                id: "lst_minipc".into(),
                title: "Beelink SER5 Mini PC".into(),
                price_cents: Some(28_900),
                cpu_name: Some("AMD Ryzen 5 5560U".into()),
                cpu_mark: Some(21_160),
                cpu_mark_per_dollar: Some(73.2),
                ram_gb: Some(16),
                storage_gb: Some(512),
                storage_type: Some("NVMe SSD".into()),
                condition: Some("new".into()),
                seller: Some("Amazon".into()),
                ..full_listing()
            },
            image,
        ),
    ));

    out.push(("no-image", card(full_listing(), None)));

    out.push((
        "no-price",
        card(
            Listing {
                price_cents: None,
                cpu_mark_per_dollar: None,
                condition: Some("used".into()),
                seller: Some("eBay".into()),
                ..full_listing()
            },
            image,
        ),
    ));

    out.push(("bare", card(bare_listing(), None)));

    let mut long = String::new();
    while long.len() < 100_000 {
        long.push_str(
            "Dell OptiPlex 7090 Micro Desktop i7-10700T 64GB RAM 2TB SSD Windows 11 Pro WiFi ",
        );
    }
    out.push((
        "long-title",
        card(
            Listing {
                title: long,
                cpu_name: Some(
                    "Intel Core i7-10700T @ 2.00GHz with an absurdly long marketing suffix that never ends"
                        .into(),
                ),
                seller: Some("A Very Long Marketplace Seller Name That Goes On And On Forever".into()),
                storage_type: Some("NVMe SSD (PCIe 4.0 x4, M.2 2280, DRAM-less, QLC)".into()),
                price_cents: Some(123_456_789),
                cpu_mark_per_dollar: Some(1_234.56),
                ..full_listing()
            },
            image,
        ),
    ));

    out.push((
        "unbroken-title",
        card(
            Listing {
                title: "A".repeat(5_000),
                ..full_listing()
            },
            None,
        ),
    ));

    out.push((
        "emoji",
        card(
            Listing {
                title: "🔥🔥 RGB Gaming Tower 🎮 RTX 4070 👩‍💻 Ready to ship 🇺🇸 ❤️".into(),
                condition: Some("new".into()),
                ..full_listing()
            },
            image,
        ),
    ));

    out.push((
        "cjk",
        card(
            Listing {
                title: "联想 ThinkPad X1 Carbon 第11代 超轻薄商务笔记本电脑 14英寸 2.8K OLED"
                    .into(),
                seller: Some("京东".into()),
                currency: "CNY".into(),
                price_cents: Some(899_900),
                ..full_listing()
            },
            image,
        ),
    ));

    out.push((
        "rtl-arabic",
        card(
            Listing {
                title: "حاسوب محمول لينوفو ثينك باد بحالة ممتازة مع شاحن أصلي".into(),
                seller: Some("متجر الحاسوب".into()),
                condition: Some("مستعمل".into()),
                ..full_listing()
            },
            image,
        ),
    ));

    out.push((
        "rtl-hebrew",
        card(
            Listing {
                title: "מחשב נייד Dell Latitude 7420 במצב מצוין".into(),
                seller: Some("זאפ".into()),
                ..full_listing()
            },
            None,
        ),
    ));

    out.push((
        "hostile",
        card(
            Listing {
                title:
                    "<script>alert(1)</script>\"><img src=x onerror=alert(2)> & 'quotes' </style><meta http-equiv=refresh content=0>"
                        .into(),
                cpu_name: Some("<b>bold</b>".into()),
                seller: Some("\"><iframe src=//evil>".into()),
                storage_type: Some("</style><style>*{display:none}".into()),
                condition: Some("new\" onmouseover=\"x".into()),
                currency: "<US>".into(),
                ..full_listing()
            },
            Some("javascript:alert(3)"),
        ),
    ));

    out.push((
        "combining",
        card(
            Listing {
                title: "Ŝ̷̡̛p̴̨͝ȩ̶̛c̵̢͝i̶͘a̴̕l̶̛ e\u{301}dition — Zalgo t\u{334}i\u{335}t\u{336}l\u{337}e\u{338} क्षि ग्राफिक्स".into(),
                ..full_listing()
            },
            image,
        ),
    ));

    out.push((
        "extreme-numbers",
        card(
            Listing {
                price_cents: Some(u64::MAX),
                cpu_mark: Some(u32::MAX),
                cpu_mark_per_dollar: Some(f64::MAX),
                ram_gb: Some(u32::MAX),
                storage_gb: Some(u32::MAX),
                ..full_listing()
            },
            image,
        ),
    ));

    out.push((
        "nan",
        card(
            Listing {
                price_cents: Some(0),
                cpu_mark: Some(0),
                cpu_mark_per_dollar: Some(f64::NAN),
                ram_gb: Some(0),
                storage_gb: Some(0),
                ..full_listing()
            },
            None,
        ),
    ));

    out.push((
        "empty-strings",
        CardInput {
            listing: Listing {
                id: String::new(),
                title: String::new(),
                currency: String::new(),
                cpu_name: Some(String::new()),
                storage_type: Some(String::new()),
                condition: Some(String::new()),
                seller: Some(String::new()),
                ..full_listing()
            },
            image_data_uri: Some(String::new()),
            brand: String::new(),
            size: OG_CARD_SIZE,
        },
    ));

    out
}
