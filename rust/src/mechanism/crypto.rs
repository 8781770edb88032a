//! The NaCl primitives CURVE needs (spec §5.1, §5.7), from libsodium, behind a safe
//! interface: the only file of the engine with `unsafe` code besides the PyO3 binding.
//!
//! libsodium was chosen by measurement (README, Security): it seals and opens
//! XSalsa20-Poly1305 boxes with 2.3x (64 B) to 2.9x (64 KiB) fewer instructions than
//! RustCrypto's `crypto_secretbox` and `dryoc`, and it is what libzmq and pynacl run. The
//! `libsodium-sys-stable` crate builds it from the source it ships, into the extension, so
//! nothing is needed on the user's machine.
//!
//! Every CURVE box is XSalsa20-Poly1305 under a 32-byte key: a `crypto_box` key is the
//! precomputation `crypto_box_beforenm` (X25519, then HSalsa20 of the shared point), the
//! cookie's key is random (`crypto_secretbox`). So one type, [`BoxKey`], seals and opens
//! every box, in place, with the tag kept apart; the wire form is `tag || ciphertext`,
//! which is what libsodium's `*_easy` calls produce.
//!
//! Secrets are zeroised when dropped; tag and key comparisons are constant-time.
#![allow(unsafe_code)]

use std::sync::Once;

use libsodium_sys as sodium;
use zeroize::{ZeroizeOnDrop, Zeroizing};

/// Curve25519 key length (public and secret).
pub const KEY_LEN: usize = 32;
/// Poly1305 tag length: a box is this much longer than what it holds.
pub const TAG_LEN: usize = 16;
/// XSalsa20 nonce length.
pub const NONCE_LEN: usize = 24;

/// A box failed to open: wrong key, wrong nonce, or tampered bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpenFailed;

/// Initialises libsodium once per process (CPU feature detection, the random source).
fn init() {
    static INIT: Once = Once::new();
    INIT.call_once(|| {
        // SAFETY: sodium_init takes no arguments and may be called from any thread.
        let status = unsafe { sodium::sodium_init() };
        assert!(status >= 0, "libsodium failed to initialise");
    });
}

/// A Curve25519 secret key, zeroised on drop.
#[repr(transparent)]
pub struct SecretKey(Zeroizing<[u8; KEY_LEN]>);

impl ZeroizeOnDrop for SecretKey {}

impl SecretKey {
    /// A fresh random key (a transient key of one connection).
    pub fn generate() -> SecretKey {
        let mut bytes = Zeroizing::new([0u8; KEY_LEN]);
        random_bytes(bytes.as_mut());
        SecretKey(bytes)
    }

    /// The key from its 32 bytes.
    pub fn from_bytes(bytes: [u8; KEY_LEN]) -> SecretKey {
        SecretKey(Zeroizing::new(bytes))
    }

    /// The key from a slice of 32 bytes, copied straight into zeroised storage (no copy
    /// is left behind on the stack); None if the length is wrong.
    pub fn from_slice(bytes: &[u8]) -> Option<SecretKey> {
        if bytes.len() != KEY_LEN {
            return None;
        }
        let mut key = Zeroizing::new([0u8; KEY_LEN]);
        key.copy_from_slice(bytes);
        Some(SecretKey(key))
    }

    /// Its 32 bytes (the server's cookie holds its transient secret).
    pub fn secret_bytes(&self) -> &[u8; KEY_LEN] {
        &self.0
    }

    /// Its public key (`crypto_scalarmult_base`).
    pub fn public_key(&self) -> [u8; KEY_LEN] {
        init();
        let mut public = [0u8; KEY_LEN];
        // SAFETY: both pointers address 32 valid bytes, as the function requires.
        let status =
            unsafe { sodium::crypto_scalarmult_base(public.as_mut_ptr(), self.0.as_ptr()) };
        assert_eq!(
            status, 0,
            "crypto_scalarmult_base cannot fail on a base-point product"
        );
        public
    }
}

impl std::fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretKey(..)")
    }
}

/// The key of one kind of box: seals and opens XSalsa20-Poly1305 boxes in place.
#[derive(Clone)]
#[repr(transparent)]
pub struct BoxKey(Zeroizing<[u8; KEY_LEN]>);

impl ZeroizeOnDrop for BoxKey {}

impl BoxKey {
    /// `crypto_box_beforenm(their_public, our_secret)`: the key both ends of a box share.
    /// A public key of low order gives an all-zero shared point, which libsodium refuses;
    /// the key is then unusable for opening anything the honest peer sealed, so the
    /// handshake fails at the box it was meant to open.
    pub fn precompute(their_public: &[u8; KEY_LEN], our_secret: &SecretKey) -> BoxKey {
        init();
        let mut key = Zeroizing::new([0u8; KEY_LEN]);
        // SAFETY: the three pointers address 32 valid bytes each.
        unsafe {
            sodium::crypto_box_beforenm(
                key.as_mut_ptr(),
                their_public.as_ptr(),
                our_secret.0.as_ptr(),
            );
        }
        BoxKey(key)
    }

    /// A random secret-box key (the server's cookie key).
    pub fn random() -> BoxKey {
        let mut key = Zeroizing::new([0u8; KEY_LEN]);
        random_bytes(key.as_mut());
        BoxKey(key)
    }

    /// Encrypts `buf` in place; returns the tag.
    pub fn seal_in_place(&self, nonce: &[u8; NONCE_LEN], buf: &mut [u8]) -> [u8; TAG_LEN] {
        let mut tag = [0u8; TAG_LEN];
        // SAFETY: libsodium allows the message and ciphertext to be the same buffer; every
        // pointer addresses as many valid bytes as its length says (nonce 24, key 32, tag 16).
        unsafe {
            sodium::crypto_secretbox_detached(
                buf.as_mut_ptr(),
                tag.as_mut_ptr(),
                buf.as_ptr(),
                buf.len() as u64,
                nonce.as_ptr(),
                self.0.as_ptr(),
            );
        }
        tag
    }

    /// Decrypts `buf` in place if `tag` authenticates it (checked in constant time); on
    /// failure `buf` is unchanged.
    pub fn open_in_place(
        &self,
        nonce: &[u8; NONCE_LEN],
        buf: &mut [u8],
        tag: &[u8; TAG_LEN],
    ) -> Result<(), OpenFailed> {
        // SAFETY: as in seal_in_place; libsodium verifies the tag before writing anything.
        let status = unsafe {
            sodium::crypto_secretbox_open_detached(
                buf.as_mut_ptr(),
                buf.as_ptr(),
                tag.as_ptr(),
                buf.len() as u64,
                nonce.as_ptr(),
                self.0.as_ptr(),
            )
        };
        if status == 0 {
            Ok(())
        } else {
            Err(OpenFailed)
        }
    }

    /// Appends the box of `plaintext` (`tag || ciphertext`) to `out`.
    pub fn seal_to(&self, nonce: &[u8; NONCE_LEN], plaintext: &[u8], out: &mut Vec<u8>) {
        let start = out.len();
        out.resize(start + TAG_LEN, 0);
        out.extend_from_slice(plaintext);
        let tag = self.seal_in_place(nonce, &mut out[start + TAG_LEN..]);
        out[start..start + TAG_LEN].copy_from_slice(&tag);
    }

    /// Opens a box (`tag || ciphertext`) into a new buffer, zeroised when dropped.
    pub fn open(
        &self,
        nonce: &[u8; NONCE_LEN],
        boxed: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, OpenFailed> {
        let (tag, ciphertext) = boxed.split_first_chunk::<TAG_LEN>().ok_or(OpenFailed)?;
        let mut plaintext = Zeroizing::new(ciphertext.to_vec());
        self.open_in_place(nonce, &mut plaintext, tag)?;
        Ok(plaintext)
    }
}

impl std::fmt::Debug for BoxKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BoxKey(..)")
    }
}

/// Bytes in front of a plaintext that [`PrefixKey::seal_in_place`] uses as scratch: the
/// Salsa20 block that gives each box its Poly1305 key (libsodium's `crypto_secretbox_ZEROBYTES`).
pub const SCRATCH_LEN: usize = 32;

/// A [`BoxKey`] bound to one 16-byte nonce prefix, for the boxes whose nonces differ only in
/// their last 8 bytes (a CURVE channel's MESSAGEs: `"CurveZMQMESSAGEC"` + short nonce).
///
/// XSalsa20 under (key, prefix || suffix) is Salsa20 under (`HSalsa20(key, prefix)`,
/// suffix): the HSalsa20 step, which `crypto_secretbox` repeats for every box, is done here
/// once. Each box then costs one Salsa20 pass over scratch block and message together and
/// one Poly1305; the bytes are exactly `crypto_secretbox_detached`'s (tested below).
#[derive(Clone)]
#[repr(transparent)]
pub struct PrefixKey(Zeroizing<[u8; KEY_LEN]>);

impl ZeroizeOnDrop for PrefixKey {}

impl PrefixKey {
    /// The Salsa20 key of the boxes under `key` whose nonces start with `prefix`.
    pub fn derive(key: &BoxKey, prefix: &[u8; 16]) -> PrefixKey {
        init();
        let mut subkey = Zeroizing::new([0u8; KEY_LEN]);
        // SAFETY: out and k address 32 valid bytes, in 16; a null constant selects the
        // standard "expand 32-byte k" constant.
        unsafe {
            sodium::crypto_core_hsalsa20(
                subkey.as_mut_ptr(),
                prefix.as_ptr(),
                key.0.as_ptr(),
                std::ptr::null(),
            );
        }
        PrefixKey(subkey)
    }

    /// XORs `buf` with the key stream of `suffix` from its first byte.
    fn xor(&self, suffix: &[u8; 8], buf: &mut [u8]) {
        // SAFETY: libsodium allows input and output to be the same buffer; buf.len() bytes
        // are valid, the nonce is 8 bytes, the key 32.
        unsafe {
            sodium::crypto_stream_salsa20_xor_ic(
                buf.as_mut_ptr(),
                buf.as_ptr(),
                buf.len() as u64,
                suffix.as_ptr(),
                0,
                self.0.as_ptr(),
            );
        }
    }

    /// Seals `buf[SCRATCH_LEN..]` in place under the nonce `prefix || suffix` and returns the
    /// tag. The first [`SCRATCH_LEN`] bytes of `buf` are overwritten (zeros on return): the
    /// caller writes its header there afterwards.
    pub fn seal_in_place(&self, suffix: &[u8; 8], buf: &mut [u8]) -> [u8; TAG_LEN] {
        buf[..SCRATCH_LEN].fill(0);
        self.xor(suffix, buf);
        let (scratch, ciphertext) = buf.split_at_mut(SCRATCH_LEN);
        let mut tag = [0u8; TAG_LEN];
        // SAFETY: tag is 16 bytes, the one-time key 32, the message ciphertext.len() bytes.
        unsafe {
            sodium::crypto_onetimeauth_poly1305(
                tag.as_mut_ptr(),
                ciphertext.as_ptr(),
                ciphertext.len() as u64,
                scratch.as_ptr(),
            );
        }
        zeroize::Zeroize::zeroize(scratch);
        tag
    }

    /// Opens `ciphertext` (sealed under `prefix || suffix` with `tag`) into `out`, which then
    /// holds [`SCRATCH_LEN`] zero bytes followed by the plaintext. The tag is checked in
    /// constant time; on failure `out` is left all zeros and nothing of the plaintext remains.
    pub fn open_into(
        &self,
        suffix: &[u8; 8],
        ciphertext: &[u8],
        tag: &[u8; TAG_LEN],
        out: &mut Vec<u8>,
    ) -> Result<(), OpenFailed> {
        out.clear();
        out.resize(SCRATCH_LEN, 0);
        out.extend_from_slice(ciphertext);
        // Decrypting before checking is safe: nothing is released unless the tag is right.
        self.xor(suffix, out);
        // SAFETY: tag is 16 bytes, the one-time key (the first 32 bytes of out) 32, the
        // message ciphertext.len() bytes.
        let status = unsafe {
            sodium::crypto_onetimeauth_poly1305_verify(
                tag.as_ptr(),
                ciphertext.as_ptr(),
                ciphertext.len() as u64,
                out.as_ptr(),
            )
        };
        if status != 0 {
            zeroize::Zeroize::zeroize(&mut out[..]);
            return Err(OpenFailed);
        }
        zeroize::Zeroize::zeroize(&mut out[..SCRATCH_LEN]);
        Ok(())
    }
}

impl std::fmt::Debug for PrefixKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PrefixKey(..)")
    }
}

/// The 24-byte nonce `prefix || suffix`.
pub fn nonce(prefix: &[u8], suffix: &[u8]) -> [u8; NONCE_LEN] {
    let mut nonce = [0u8; NONCE_LEN];
    nonce[..prefix.len()].copy_from_slice(prefix);
    nonce[prefix.len()..].copy_from_slice(suffix);
    nonce
}

/// Fills `buf` from libsodium's random source (the operating system's).
pub fn random_bytes(buf: &mut [u8]) {
    init();
    // SAFETY: the pointer addresses buf.len() valid bytes.
    unsafe { sodium::randombytes_buf(buf.as_mut_ptr().cast(), buf.len()) };
}

/// Constant-time equality of two byte strings (keys, cookie contents).
pub fn same(a: &[u8], b: &[u8]) -> bool {
    init();
    // SAFETY: both pointers address a.len() valid bytes (lengths checked first).
    a.len() == b.len()
        && unsafe { sodium::sodium_memcmp(a.as_ptr().cast(), b.as_ptr().cast(), a.len()) } == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(text: &str) -> Vec<u8> {
        (0..text.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
            .collect()
    }

    fn key(text: &str) -> [u8; KEY_LEN] {
        hex(text).try_into().unwrap()
    }

    #[test]
    fn public_keys_match_libzmq_test_keys() {
        // spec §5.8: the client pair from libzmq's zmq_curve documentation.
        let secret = SecretKey::from_bytes(key(
            "7BB864B489AFA3671FBE69101F94B38972F24816DFB01B51656B3FEC8DFD0888",
        ));
        assert_eq!(
            secret.public_key(),
            key("BB88471D65E2659B30C55A5321CEBB5AAB2B70A398645C26DCA2B2FCB43FC518")
        );
    }

    #[test]
    fn hello_box_matches_libsodium() {
        // spec §5.8: Box[64 zero bytes](C'->S), nonce "CurveZMQHELLO---" + 1.
        let transient = SecretKey::from_bytes(key(
            "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
        ));
        let server = key("54FCBA24E93249969316FB617C872BB0C1D1FF14800427C594CBFACF1BC2D652");
        let mut boxed = Vec::new();
        let nonce = nonce(b"CurveZMQHELLO---", &1u64.to_be_bytes());
        BoxKey::precompute(&server, &transient).seal_to(&nonce, &[0; 64], &mut boxed);
        assert_eq!(
            boxed,
            hex(
                "78490e29e5e6f089ef54e4f6ad14338a0a01ed142e6b9ca136bfa3755d990f93\
                 b3dc2629851cd1e50d36e98b94b8d59c540cce051bc864074607194fd88d7d1e\
                 2052296aad0f7e3c359ee915acd54eac"
            )
        );
    }

    #[test]
    fn boxes_open_once_and_reject_tampering() {
        let a = SecretKey::generate();
        let b = SecretKey::generate();
        let ab = BoxKey::precompute(&b.public_key(), &a);
        let ba = BoxKey::precompute(&a.public_key(), &b);
        let nonce = nonce(b"VOUCH---", &[7; 16]);
        let mut boxed = Vec::new();
        ab.seal_to(&nonce, b"hello", &mut boxed);
        assert_eq!(boxed.len(), 5 + TAG_LEN);
        assert_eq!(&ba.open(&nonce, &boxed).unwrap()[..], b"hello");
        for bit in 0..boxed.len() * 8 {
            let mut flipped = boxed.clone();
            flipped[bit / 8] ^= 1 << (bit % 8);
            assert_eq!(ba.open(&nonce, &flipped).unwrap_err(), OpenFailed);
        }
        let other = super::nonce(b"VOUCH---", &[8; 16]);
        assert!(ba.open(&other, &boxed).is_err());
        assert!(ba.open(&nonce, &boxed[..TAG_LEN - 1]).is_err());
    }

    #[test]
    fn prefix_keys_seal_exactly_as_secretbox_and_open_once() {
        let a = SecretKey::generate();
        let b = SecretKey::generate();
        let key = BoxKey::precompute(&b.public_key(), &a);
        let prefix = b"CurveZMQMESSAGEC";
        let fast = PrefixKey::derive(&key, prefix);
        for len in [0, 1, 31, 32, 33, 63, 64, 65, 127, 128, 200, 1000, 70_000] {
            let plaintext: Vec<u8> = (0..len).map(|i| (i * 7 + len) as u8).collect();
            let suffix = (len as u64 + 3).to_be_bytes();
            let mut reference = plaintext.clone();
            let reference_tag = key.seal_in_place(&nonce(prefix, &suffix), &mut reference);

            let mut buf = vec![0xAA; SCRATCH_LEN];
            buf.extend_from_slice(&plaintext);
            let tag = fast.seal_in_place(&suffix, &mut buf);
            assert_eq!(tag, reference_tag, "tag, {len} bytes");
            assert_eq!(
                &buf[SCRATCH_LEN..],
                &reference[..],
                "ciphertext, {len} bytes"
            );
            assert!(buf[..SCRATCH_LEN].iter().all(|&b| b == 0), "scratch zeroed");

            let mut out = Vec::new();
            fast.open_into(&suffix, &reference, &tag, &mut out).unwrap();
            assert!(out[..SCRATCH_LEN].iter().all(|&b| b == 0));
            assert_eq!(&out[SCRATCH_LEN..], &plaintext[..]);

            let mut wrong_tag = tag;
            wrong_tag[len % TAG_LEN] ^= 1;
            assert_eq!(
                fast.open_into(&suffix, &reference, &wrong_tag, &mut out),
                Err(OpenFailed)
            );
            assert!(out.iter().all(|&b| b == 0), "nothing of a forgery remains");
            let other = (len as u64 + 4).to_be_bytes();
            assert!(fast.open_into(&other, &reference, &tag, &mut out).is_err());
            if len > 0 {
                let mut flipped = reference.clone();
                flipped[len / 2] ^= 0x80;
                assert!(fast.open_into(&suffix, &flipped, &tag, &mut out).is_err());
            }
        }
    }

    /// Drops `key` in place and returns the 32 bytes it occupied afterwards.
    fn bytes_after_drop<K>(key: K) -> [u8; KEY_LEN] {
        assert_eq!(std::mem::size_of::<K>(), KEY_LEN, "a key is its 32 bytes");
        let mut slot = std::mem::MaybeUninit::new(key);
        // SAFETY: the slot holds an initialised K, dropped once here; its storage stays
        // ours, and 32 bytes of it are read back as plain bytes (any value is valid).
        unsafe {
            slot.assume_init_drop();
            std::ptr::read(slot.as_ptr().cast::<[u8; KEY_LEN]>())
        }
    }

    #[test]
    fn keys_are_zeroed_when_dropped() {
        let secret = SecretKey::from_slice(&[7; KEY_LEN]).unwrap();
        let peer = SecretKey::generate().public_key();
        let boxes = BoxKey::precompute(&peer, &secret);
        let stream = PrefixKey::derive(&boxes, b"CurveZMQMESSAGES");
        assert_ne!(boxes.0[..], [0; KEY_LEN]);
        assert_ne!(stream.0[..], [0; KEY_LEN]);
        assert_eq!(bytes_after_drop(secret), [0; KEY_LEN]);
        assert_eq!(bytes_after_drop(boxes), [0; KEY_LEN]);
        assert_eq!(bytes_after_drop(stream), [0; KEY_LEN]);
        assert_eq!(bytes_after_drop(BoxKey::random()), [0; KEY_LEN]);
        assert!(SecretKey::from_slice(&[7; 31]).is_none());
    }

    #[test]
    fn same_compares_contents() {
        assert!(same(b"abc", b"abc"));
        assert!(!same(b"abc", b"abd"));
        assert!(!same(b"abc", b"ab"));
    }
}
