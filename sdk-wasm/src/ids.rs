//! Message ids: UUID v7 (the protocol's recommendation, so ids sort by time), built here from
//! the wall clock and a seeded generator instead of pulling the `uuid` crate and `getrandom`
//! into the bundle.

/// A UUID v7 string for `unix_ms`, its 74 random bits drawn from `rng`.
pub(crate) fn uuid_v7(unix_ms: u64, rng: &mut fastrand::Rng) -> String {
    let ms = unix_ms & 0xFFFF_FFFF_FFFF;
    let rand_a = rng.u16(..) & 0x0FFF;
    let rand_b = rng.u64(..) & 0x3FFF_FFFF_FFFF_FFFF;
    let hi = (ms << 16) | 0x7000 | u64::from(rand_a);
    let lo = 0x8000_0000_0000_0000 | rand_b;
    format!(
        "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
        hi >> 32,
        (hi >> 16) & 0xFFFF,
        hi & 0xFFFF,
        lo >> 48,
        lo & 0xFFFF_FFFF_FFFF
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn is_a_version_7_variant_1_uuid_that_sorts_by_time() {
        let mut rng = fastrand::Rng::with_seed(1);
        let a = uuid_v7(1_732_240_000_000, &mut rng);
        let b = uuid_v7(1_732_240_000_001, &mut rng);
        assert_eq!(a.len(), 36);
        assert_eq!(&a[14..15], "7");
        assert!(matches!(&a[19..20], "8" | "9" | "a" | "b"), "{a}");
        assert_eq!(&a[..8], "0193518c");
        assert!(a < b);
        assert_ne!(uuid_v7(5, &mut rng), uuid_v7(5, &mut rng));
    }
}
