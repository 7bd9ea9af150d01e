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
    hex_uuid(hi, lo)
}

/// The 128 bits `hi:lo` in the UUID text form, without `core::fmt`.
fn hex_uuid(hi: u64, lo: u64) -> String {
    // 32 hex digits of the 128 bits, dashes after the 8th, 12th, 16th and 20th.
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut id = String::with_capacity(36);
    for i in 0..32 {
        if matches!(i, 8 | 12 | 16 | 20) {
            id.push('-');
        }
        let (word, at) = if i < 16 { (hi, i) } else { (lo, i - 16) };
        id.push(char::from(HEX[((word >> (60 - 4 * at)) & 0xF) as usize]));
    }
    id
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

    #[test]
    fn hex_form_is_the_usual_one() {
        let (hi, lo) = (0x0193_518c_0a1b_7c2d_u64, 0x8e3f_4a5b_6c7d_8e9f_u64);
        let usual = format!(
            "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
            hi >> 32,
            (hi >> 16) & 0xFFFF,
            hi & 0xFFFF,
            lo >> 48,
            lo & 0xFFFF_FFFF_FFFF
        );
        assert_eq!(hex_uuid(hi, lo), usual);
        assert_eq!(hex_uuid(0, 0), "00000000-0000-0000-0000-000000000000");
    }
}
