//! Z85 (RFC 32, spec §8): 4 bytes <-> 5 printable characters, used for CURVE keys.
//!
//! Checks are libzmq's (`zmq_z85_encode`/`zmq_z85_decode`): data length a multiple of 4,
//! text length a non-empty multiple of 5, only alphabet characters, no group above 32 bits.

use crate::error::Z85Error;

/// The alphabet, value 0 to 84.
const ALPHABET: &[u8; 85] =
    b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#";

/// Character -> value (`INVALID` for characters outside the alphabet).
const DECODER: [u8; 256] = {
    let mut table = [INVALID; 256];
    let mut value = 0;
    while value < ALPHABET.len() {
        table[ALPHABET[value] as usize] = value as u8;
        value += 1;
    }
    table
};
const INVALID: u8 = 0xff;

/// Encodes `data`, whose length must be a multiple of 4.
pub fn encode(data: &[u8]) -> Result<Vec<u8>, Z85Error> {
    if data.len() % 4 != 0 {
        return Err(Z85Error::DataLength(data.len()));
    }
    let mut text = Vec::with_capacity(data.len() / 4 * 5);
    for group in data.chunks_exact(4) {
        let mut value = u32::from_be_bytes(group.try_into().expect("4 bytes"));
        let mut chars = [0; 5];
        for c in chars.iter_mut().rev() {
            *c = ALPHABET[(value % 85) as usize];
            value /= 85;
        }
        text.extend_from_slice(&chars);
    }
    Ok(text)
}

/// Decodes `text`, whose length must be a non-empty multiple of 5.
pub fn decode(text: &[u8]) -> Result<Vec<u8>, Z85Error> {
    if text.is_empty() || text.len() % 5 != 0 {
        return Err(Z85Error::TextLength(text.len()));
    }
    let mut data = Vec::with_capacity(text.len() / 5 * 4);
    for group in text.chunks_exact(5) {
        let mut value: u32 = 0;
        for &c in group {
            let digit = DECODER[usize::from(c)];
            if digit == INVALID {
                return Err(Z85Error::Character(c));
            }
            value = value
                .checked_mul(85)
                .and_then(|v| v.checked_add(u32::from(digit)))
                .ok_or(Z85Error::Overflow)?;
        }
        data.extend_from_slice(&value.to_be_bytes());
    }
    Ok(data)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors() {
        assert_eq!(encode(b"abc"), Err(Z85Error::DataLength(3)));
        assert_eq!(encode(b""), Ok(vec![]));
        assert_eq!(decode(b""), Err(Z85Error::TextLength(0)));
        assert_eq!(decode(b"Hell"), Err(Z85Error::TextLength(4)));
        assert_eq!(decode(b"Hell\""), Err(Z85Error::Character(b'"')));
        assert_eq!(decode(b"Hell\0"), Err(Z85Error::Character(0)));
        // "%nSc0" is 0xFFFFFFFF; "%nSc1" is one more.
        assert_eq!(decode(b"%nSc0"), Ok(vec![0xff; 4]));
        assert_eq!(decode(b"%nSc1"), Err(Z85Error::Overflow));
        assert_eq!(decode(b"#####"), Err(Z85Error::Overflow));
    }

    #[test]
    fn every_group_value_edge_round_trips() {
        for value in [0u32, 1, 84, 85, 0x7fff_ffff, u32::MAX] {
            let bytes = value.to_be_bytes();
            assert_eq!(decode(&encode(&bytes).unwrap()).unwrap(), bytes);
        }
    }
}
