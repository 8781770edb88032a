//! The 64-byte ZMTP 3.x greeting (RFC 37 §"Formal Grammar", spec §1).
//!
//! ```text
//! FF | padding u64be | 7F | major 03 | minor 01 | mechanism[20] | as-server | filler[31]
//! ```
//!
//! We always send all 64 bytes at once (libzmq copes, spec §1.2), and check the peer's bytes
//! as they trickle in, so a non-ZMTP-3 peer is refused as soon as its first bytes tell.

use crate::error::{Error, PeerMisbehaved};

/// The length of a greeting.
pub const GREETING_LEN: usize = 64;
/// The length of the mechanism field.
pub const MECHANISM_LEN: usize = 20;

/// The version we announce: ZMTP 3.1.
const VERSION: [u8; 2] = [3, 1];
/// Offsets of the fields.
const SIGNATURE_END: usize = 9;
const MAJOR: usize = 10;
const MINOR: usize = 11;
const MECHANISM: usize = 12;
const AS_SERVER: usize = 32;

/// The parts of a peer's greeting that matter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Greeting {
    /// Major version (3 or more).
    pub major: u8,
    /// Minor version.
    pub minor: u8,
    /// The mechanism name, NUL-padded.
    pub mechanism: [u8; MECHANISM_LEN],
    /// The as-server flag (libzmq always sends 0 and never reads it).
    pub as_server: bool,
}

impl Greeting {
    /// Our greeting for `mechanism`.
    pub fn ours(mechanism: [u8; MECHANISM_LEN], as_server: bool) -> Greeting {
        let [major, minor] = VERSION;
        Greeting {
            major,
            minor,
            mechanism,
            as_server,
        }
    }

    /// Appends the 64 encoded bytes. The padding is not significant (RFC 37), but libzmq puts
    /// `u64be(routing_id_len + 1)` there as a ZMTP 1.0 compatibility trick; we copy it so our
    /// bytes match libzmq's.
    pub fn encode(&self, routing_id_len: usize, out: &mut Vec<u8>) {
        out.push(0xff);
        out.extend_from_slice(&(routing_id_len as u64 + 1).to_be_bytes());
        out.push(0x7f);
        out.extend_from_slice(&[self.major, self.minor]);
        out.extend_from_slice(&self.mechanism);
        out.push(u8::from(self.as_server));
        out.extend_from_slice(&[0; GREETING_LEN - AS_SERVER - 1]);
    }

    /// Checks the first bytes of a peer's greeting (any prefix, even incomplete) and decodes it
    /// once all 64 bytes are there (`Ok(None)` before).
    pub fn decode(prefix: &[u8]) -> Result<Option<Greeting>, Error> {
        if prefix.first().is_some_and(|&b| b != 0xff) {
            return Err(PeerMisbehaved::BadSignature.into());
        }
        if prefix.get(SIGNATURE_END).is_some_and(|&b| b & 1 == 0) {
            return Err(PeerMisbehaved::UnversionedPeer.into());
        }
        if let Some(&major) = prefix.get(MAJOR).filter(|&&major| major < 3) {
            return Err(PeerMisbehaved::UnsupportedVersion(major).into());
        }
        let Some(greeting) = prefix.get(..GREETING_LEN) else {
            return Ok(None);
        };
        Ok(Some(Greeting {
            major: greeting[MAJOR],
            minor: greeting[MINOR],
            mechanism: greeting[MECHANISM..AS_SERVER].try_into().expect("20 bytes"),
            as_server: greeting[AS_SERVER] != 0,
        }))
    }

    /// The minor version we speak with this peer: 0 for a ZMTP 3.0 peer, else 1 (higher
    /// versions are spoken to as 3.1, RFC 37 §"Version Negotiation").
    pub fn effective_minor(&self) -> u8 {
        if self.major == 3 && self.minor == 0 {
            0
        } else {
            1
        }
    }
}

/// A mechanism name as it appears in the greeting: ASCII, NUL-padded to 20 bytes.
pub const fn mechanism_name(name: &str) -> [u8; MECHANISM_LEN] {
    let mut field = [0; MECHANISM_LEN];
    let bytes = name.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        field[i] = bytes[i];
        i += 1;
    }
    field
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ours() -> Vec<u8> {
        let mut out = Vec::new();
        Greeting::ours(mechanism_name("NULL"), false).encode(0, &mut out);
        out
    }

    #[test]
    fn round_trips() {
        let bytes = ours();
        assert_eq!(bytes.len(), GREETING_LEN);
        let decoded = Greeting::decode(&bytes).unwrap().unwrap();
        assert_eq!(decoded, Greeting::ours(mechanism_name("NULL"), false));
        assert_eq!(decoded.effective_minor(), 1);
    }

    #[test]
    fn prefixes_are_checked_early() {
        let bytes = ours();
        for len in 0..GREETING_LEN {
            assert_eq!(Greeting::decode(&bytes[..len]), Ok(None));
        }
        assert_eq!(
            Greeting::decode(&[0x01]),
            Err(PeerMisbehaved::BadSignature.into())
        );
        let mut zmtp1 = bytes[..10].to_vec();
        zmtp1[9] = 0x7e;
        assert_eq!(
            Greeting::decode(&zmtp1),
            Err(PeerMisbehaved::UnversionedPeer.into())
        );
        let mut zmtp2 = bytes[..11].to_vec();
        zmtp2[10] = 1;
        assert_eq!(
            Greeting::decode(&zmtp2),
            Err(PeerMisbehaved::UnsupportedVersion(1).into())
        );
    }

    #[test]
    fn minor_versions() {
        let mut bytes = ours();
        bytes[MINOR] = 0;
        assert_eq!(
            Greeting::decode(&bytes).unwrap().unwrap().effective_minor(),
            0
        );
        bytes[MAJOR] = 4;
        assert_eq!(
            Greeting::decode(&bytes).unwrap().unwrap().effective_minor(),
            1
        );
    }
}
