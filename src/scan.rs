//! Byte search tuned for protocol lines.
//!
//! AMI and AGI lines are short: a key of a dozen bytes, a value of a few
//! dozen. A SIMD search pays a call and a setup for every line, and on
//! haystacks under 32 bytes falls back to a slower path. [`find_byte`] looks
//! at eight bytes at a time in plain, safe Rust, and hands long stretches to
//! `memchr`. On the AMI event benchmark it made the framer about twice as fast.
//! [`byte_mask`] answers for a whole 64-byte block at once, for the framer's
//! line ends.

use memchr::memchr;

const LO: u64 = 0x0101_0101_0101_0101;
const HI: u64 = 0x8080_8080_8080_8080;

/// Position of the first `needle` in `hay`.
///
/// Checks a word of eight bytes per step (the classic "has zero byte" test on
/// `word ^ needle*LO`, whose lowest flagged byte is always a real match), and
/// switches to `memchr`'s SIMD search once 64 bytes passed without a match:
/// cheaper than a SIMD call for the short stretches AMI lines are made of.
#[inline(always)]
pub(crate) fn find_byte(hay: &[u8], needle: u8) -> Option<usize> {
    let pat = LO.wrapping_mul(needle as u64);
    let mut i = 0;
    while let Some(chunk) = hay.get(i..i + 8) {
        let w = u64::from_le_bytes(chunk.try_into().expect("eight bytes")) ^ pat;
        let m = w.wrapping_sub(LO) & !w & HI;
        if m != 0 {
            return Some(i + (m.trailing_zeros() / 8) as usize);
        }
        i += 8;
        if i >= 64 {
            return memchr(needle, &hay[i..]).map(|j| i + j);
        }
    }
    hay[i..].iter().position(|&b| b == needle).map(|j| i + j)
}

/// The length of the blocks [`byte_mask`] looks at.
pub(crate) const BLOCK: usize = 64;

/// A mask of where `needle` is in `block`: bit `i` is set when
/// `block[i] == needle`.
///
/// The AMI framer finds line ends with it 64 bytes at a time, then takes
/// the set bits one by one: no branch depends on a line's length, where a
/// search line by line mispredicted its exit on almost every line.
///
/// On x86_64 this is four SSE2 compares and byte masks, the one place the
/// crate uses `unsafe`. The benchmark that justifies it
/// (`cargo run --release --example ingest_stages -- --only framer`) gave,
/// on the 594 real events of the ingest corpus: 111–119 ns per event
/// searching line by line, 95 ns with [`byte_mask_portable`], 83–87 ns with
/// SSE2.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
#[allow(unsafe_code)]
pub(crate) fn byte_mask(block: &[u8; BLOCK], needle: u8) -> u64 {
    use std::arch::x86_64::{
        __m128i, _mm_cmpeq_epi8, _mm_loadu_si128, _mm_movemask_epi8, _mm_set1_epi8,
    };
    let mut mask = 0;
    for (k, sixteen) in block.chunks_exact(16).enumerate() {
        // SAFETY: SSE2 is part of the x86_64 baseline, so these intrinsics
        // exist on every x86_64 CPU. The one load reads the 16 bytes of
        // `sixteen`, a slice of exactly that length, and `loadu` needs no
        // alignment.
        let bits = unsafe {
            let bytes = _mm_loadu_si128(sixteen.as_ptr().cast::<__m128i>());
            _mm_movemask_epi8(_mm_cmpeq_epi8(bytes, _mm_set1_epi8(needle as i8)))
        };
        mask |= u64::from(bits as u16) << (k * 16);
    }
    mask
}

/// [`byte_mask`] where there is no SSE2: the same answer in portable code.
#[cfg(not(target_arch = "x86_64"))]
#[inline(always)]
pub(crate) fn byte_mask(block: &[u8; BLOCK], needle: u8) -> u64 {
    byte_mask_portable(block, needle)
}

/// [`byte_mask`] in safe, portable code: the compares compile to vector
/// instructions, then a multiplication per eight bytes gathers their flags
/// into eight bits.
#[cfg_attr(target_arch = "x86_64", allow(dead_code))]
#[inline(always)]
pub(crate) fn byte_mask_portable(block: &[u8; BLOCK], needle: u8) -> u64 {
    let flags: [u8; BLOCK] = std::array::from_fn(|i| u8::from(block[i] == needle));
    let mut mask = 0;
    for (k, eight) in flags.chunks_exact(8).enumerate() {
        let word = u64::from_le_bytes(eight.try_into().expect("eight bytes"));
        // Each flag byte is 0 or 1. The product moves byte j's flag to bit
        // 56 + j; the other partial products land below bit 56 or past bit
        // 63, and never on the same bit, so nothing carries into the top byte.
        mask |= (word.wrapping_mul(0x0102_0408_1020_4080) >> 56) << (k * 8);
    }
    mask
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn find_byte_agrees_with_a_naive_search() {
        let hay: Vec<u8> = (0..300u32).map(|i| (i * 7 % 251) as u8).collect();
        for start in 0..40 {
            for len in [0, 1, 7, 8, 9, 63, 64, 65, 200] {
                let h = &hay[start..(start + len).min(hay.len())];
                for needle in [0u8, 10, 58, 200, 255] {
                    assert_eq!(
                        find_byte(h, needle),
                        h.iter().position(|&b| b == needle),
                        "start={start} len={len} needle={needle}"
                    );
                }
            }
        }
    }

    #[test]
    fn byte_mask_flags_every_match_and_nothing_else() {
        let hay: Vec<u8> = (0..400u32).map(|i| (i * 37 % 253) as u8).collect();
        for start in 0..80 {
            let block: &[u8; BLOCK] = hay[start..start + BLOCK].try_into().unwrap();
            for needle in [0u8, b'\n', b':', 200, 255] {
                let naive = (0..BLOCK)
                    .filter(|&i| block[i] == needle)
                    .fold(0u64, |m, i| m | 1 << i);
                assert_eq!(
                    byte_mask(block, needle),
                    naive,
                    "start={start} needle={needle}"
                );
                assert_eq!(byte_mask_portable(block, needle), naive);
            }
        }
        let all = [b'\n'; BLOCK];
        assert_eq!(byte_mask(&all, b'\n'), u64::MAX);
        assert_eq!(byte_mask_portable(&all, b'\n'), u64::MAX);
    }
}
