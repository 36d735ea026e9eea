//! Launch prices (`data/prices.csv`): what a GPU cost at launch (the vendor's MSRP) or what the
//! machine carrying a unified-memory chip cost in a named configuration, each with its date and
//! source (research notes: docs/research/prices-notes.md). Datacenter GPUs have no published
//! price and are absent.

use std::sync::OnceLock;

const PRICES_CSV: &str = include_str!("../data/prices.csv");

/// One device's launch price.
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
pub struct Price {
    /// Catalog device id.
    pub device_id: String,
    /// US dollars.
    pub price_usd: f64,
    /// `msrp` (the vendor's launch price of the card) or `configuration` (a whole machine).
    pub kind: String,
    /// The announcement the price belongs to (`YYYY-MM-DD`).
    pub date: String,
    /// Exactly what the price buys.
    pub what: String,
    /// URL.
    pub source: String,
}

impl Price {
    /// Whether the price is that of a smaller base configuration than the catalog chip (Apple's
    /// upgrades are priced per machine): then it is a lower bound ("from $X").
    #[must_use]
    pub fn lower_bound(&self) -> bool {
        self.what.contains("lower bound") || self.what.contains("BASE price")
    }
}

/// Every price, parsed on first use.
///
/// # Panics
/// If the embedded data is invalid, which the catalog tests rule out.
pub fn prices() -> &'static [Price] {
    static P: OnceLock<Vec<Price>> = OnceLock::new();
    P.get_or_init(|| {
        csv::Reader::from_reader(PRICES_CSV.as_bytes())
            .deserialize()
            .collect::<Result<Vec<Price>, _>>()
            .unwrap_or_else(|e| panic!("embedded prices.csv: {e}"))
    })
}

/// The launch price of a catalog device.
#[must_use]
pub fn price(device_id: &str) -> Option<&'static Price> {
    prices().iter().find(|p| p.device_id == device_id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_price_names_a_catalog_device_and_a_source() {
        let d = crate::devices();
        assert!(prices().len() >= 80);
        for p in prices() {
            assert!(
                d.all().iter().any(|e| e.id == p.device_id),
                "{}",
                p.device_id
            );
            assert!(p.source.starts_with("http"), "{}", p.device_id);
            assert!(
                p.price_usd > 50.0 && p.price_usd < 20_000.0,
                "{}",
                p.device_id
            );
            assert_eq!(p.date.len(), 10, "{}", p.device_id);
        }
        assert_eq!(price("rtx-4090").map(|p| p.price_usd), Some(1599.0));
    }
}
